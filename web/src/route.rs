//! Where the app is: the URL fragment (`#/w/demo/forms/iqc/fill`) parsed into a page, and
//! back. The fragment keeps the server out of routing and survives reloads.

/// A page of the app, within a workspace where it needs one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Login,
    /// The workspace's start page: its forms.
    Forms,
    NewForm,
    Design(String),
    Fill(String),
    Records(String),
    Record(String),
    Inbox,
    Workflows,
    NewWorkflow,
    Workflow(String),
    Dashboards,
    NewDashboard,
    Dashboard(String),
    Search,
    Trace,
    Admin,
    NotFound,
}

/// A page and the workspace it belongs to (`None` before one is chosen, and for the login).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub workspace: Option<String>,
    pub page: Page,
}

impl Route {
    pub fn new(workspace: &str, page: Page) -> Route {
        Route { workspace: Some(workspace.to_owned()), page }
    }

    /// Reads a fragment such as `#/w/demo/forms/iqc/design`; anything unknown is `NotFound`.
    pub fn parse(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).map(decode).collect();
        match parts.as_slice() {
            [] => Route { workspace: None, page: Page::Forms },
            ["login"] => Route { workspace: None, page: Page::Login },
            ["w", ws, rest @ ..] => Route { workspace: Some((*ws).to_owned()), page: page(rest) },
            _ => Route { workspace: None, page: Page::NotFound },
        }
    }

    /// The fragment for this route, starting with `#/`.
    pub fn to_hash(&self) -> String {
        let rest = match &self.page {
            Page::Login => return "#/login".to_owned(),
            Page::Forms => "forms".to_owned(),
            Page::NewForm => "forms/new".to_owned(),
            Page::Design(key) => format!("forms/{}/design", encode(key)),
            Page::Fill(key) => format!("forms/{}/fill", encode(key)),
            Page::Records(key) => format!("forms/{}/records", encode(key)),
            Page::Record(id) => format!("records/{}", encode(id)),
            Page::Inbox => "inbox".to_owned(),
            Page::Workflows => "workflows".to_owned(),
            Page::NewWorkflow => "workflows/new".to_owned(),
            Page::Workflow(key) => format!("workflows/{}", encode(key)),
            Page::Dashboards => "dashboards".to_owned(),
            Page::NewDashboard => "dashboards/new".to_owned(),
            Page::Dashboard(key) => format!("dashboards/{}", encode(key)),
            Page::Search => "search".to_owned(),
            Page::Trace => "trace".to_owned(),
            Page::Admin => "admin".to_owned(),
            Page::NotFound => "not-found".to_owned(),
        };
        match &self.workspace {
            Some(ws) => format!("#/w/{}/{rest}", encode(ws)),
            None => format!("#/{rest}"),
        }
    }
}

fn page(rest: &[&str]) -> Page {
    match rest {
        [] | ["forms"] => Page::Forms,
        ["forms", "new"] => Page::NewForm,
        ["forms", key, "design"] => Page::Design((*key).to_owned()),
        ["forms", key, "fill"] => Page::Fill((*key).to_owned()),
        ["forms", key, "records"] => Page::Records((*key).to_owned()),
        ["records", id] => Page::Record((*id).to_owned()),
        ["inbox"] => Page::Inbox,
        ["workflows"] => Page::Workflows,
        ["workflows", "new"] => Page::NewWorkflow,
        ["workflows", key] => Page::Workflow((*key).to_owned()),
        ["dashboards"] => Page::Dashboards,
        ["dashboards", "new"] => Page::NewDashboard,
        ["dashboards", key] => Page::Dashboard((*key).to_owned()),
        ["search"] => Page::Search,
        ["trace"] => Page::Trace,
        ["admin"] => Page::Admin,
        _ => Page::NotFound,
    }
}

/// Keys and slugs are `a-z0-9_-`; record ids too. Anything else is percent-encoded so that a
/// hand-typed fragment cannot smuggle a `/`.
fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn decode(part: &str) -> &str {
    // Only our own encoding is ever read back, and it leaves keys untouched; a part with
    // escapes is not a valid key and simply finds nothing.
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hash: &str, expected: Route) {
        assert_eq!(Route::parse(hash), expected, "{hash}");
        assert_eq!(Route::parse(&expected.to_hash()), expected, "round trip of {hash}");
    }

    #[test]
    fn fragments_parse_and_round_trip() {
        check("#/login", Route { workspace: None, page: Page::Login });
        check("#/w/demo/forms", Route::new("demo", Page::Forms));
        check("#/w/demo/forms/iqc/design", Route::new("demo", Page::Design("iqc".into())));
        check("#/w/demo/forms/iqc/fill", Route::new("demo", Page::Fill("iqc".into())));
        check("#/w/demo/forms/iqc/records", Route::new("demo", Page::Records("iqc".into())));
        check("#/w/demo/records/0192-ab", Route::new("demo", Page::Record("0192-ab".into())));
        check("#/w/demo/dashboards/cockpit", Route::new("demo", Page::Dashboard("cockpit".into())));
        check("#/w/demo/inbox", Route::new("demo", Page::Inbox));
        check("#/w/demo/workflows", Route::new("demo", Page::Workflows));
        check("#/w/demo/workflows/new", Route::new("demo", Page::NewWorkflow));
        check("#/w/demo/workflows/iqc-reject", Route::new("demo", Page::Workflow("iqc-reject".into())));
        check("#/w/demo/admin", Route::new("demo", Page::Admin));
        check("#/w/x/nonsense/here", Route::new("x", Page::NotFound));
        assert_eq!(Route::parse(""), Route { workspace: None, page: Page::Forms });
        assert_eq!(Route::new("a b", Page::Forms).to_hash(), "#/w/a%20b/forms");
    }
}
