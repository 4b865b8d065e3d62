//! HTTP routes: one module per endpoint or small resource, mounted from one table that also
//! describes them, so the OpenAPI document (`openapi.rs`) cannot drift from the router.

mod attachments;
mod audit;
mod auth;
mod connectors;
mod dashboards;
pub(crate) mod forms;
mod health;
pub(crate) mod instances;
mod metrics;
mod openapi;
mod outbox;
mod packs;
mod qms;
pub(crate) mod records;
mod reports;
mod search;
pub(crate) mod tasks;
mod trace;
mod workflows;
mod workspaces;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::app::AppState;
use crate::error::ApiError;

// Shared with template pack installs (`crate::packs`), which create and publish the same
// objects inside their own transaction.
pub(crate) use dashboards::load as dashboards_load;
pub(crate) use forms::publish::publish_draft as publish_form;
pub(crate) use records::draw_numbers;
pub(crate) use records::unique::claim_fields as claim_unique;
pub(crate) use workflows::load as workflows_load;
pub(crate) use workflows::publish::publish_draft as publish_workflow;

/// One operation: how it is mounted and how it is documented.
pub struct Endpoint {
    pub method: Method,
    pub path: String,
    /// The OpenAPI tag (the resource).
    pub tag: &'static str,
    /// Who may call it: `public`, `signed in`, or the action checked on the workspace.
    pub permission: &'static str,
    pub summary: &'static str,
    /// What the JSON body holds, for operations that take one.
    pub body: Option<&'static str>,
}

type Entry = (Endpoint, MethodRouter<AppState>);

fn op(
    method: Method,
    path: impl Into<String>,
    tag: &'static str,
    permission: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    handler: MethodRouter<AppState>,
) -> Entry {
    (Endpoint { method, path: path.into(), tag, permission, summary, body }, handler)
}

const WS: &str = "/api/v1/workspaces/{ws}";

/// Every operation of the API.
pub fn endpoints() -> Vec<Entry> {
    use Method as M;
    let ws = |rest: &str| format!("{WS}{rest}");
    vec![
        op(
            M::GET,
            "/healthz",
            "operations",
            "public",
            "The server is up and its database answers",
            None,
            get(health::get),
        ),
        op(
            M::GET,
            "/metrics",
            "operations",
            "metrics token or installation admin",
            "Prometheus metrics",
            None,
            get(metrics::get),
        ),
        op(M::GET, "/api/openapi.json", "operations", "public", "This document", None, get(openapi::get)),
        op(
            M::POST,
            "/api/v1/auth/login",
            "auth",
            "public",
            "Sign in: a session cookie and a CSRF token",
            Some("{username, password}"),
            post(auth::login::post),
        ),
        op(M::POST, "/api/v1/auth/logout", "auth", "signed in", "End the session", None, post(auth::logout::post)),
        op(M::GET, "/api/v1/me", "auth", "signed in", "The caller and their workspaces", None, get(auth::me::get)),
        op(
            M::PATCH,
            "/api/v1/me",
            "auth",
            "signed in",
            "Change the caller's display name or e-mail address",
            Some("{display_name?, email?}"),
            patch(auth::me::patch),
        ),
        op(
            M::GET,
            "/api/v1/auth/tokens",
            "auth",
            "signed in (session)",
            "The caller's API tokens",
            None,
            get(auth::tokens::list),
        ),
        op(
            M::POST,
            "/api/v1/auth/tokens",
            "auth",
            "signed in (session)",
            "Create an API token for one workspace (shown once)",
            Some("{name, workspace, expires_in_days?}"),
            post(auth::tokens::create),
        ),
        op(
            M::DELETE,
            "/api/v1/auth/tokens/{id}",
            "auth",
            "signed in (session)",
            "Revoke an API token",
            None,
            delete(auth::tokens::revoke),
        ),
        op(
            M::GET,
            "/api/v1/workspaces",
            "workspaces",
            "signed in",
            "Workspaces the caller belongs to",
            None,
            get(workspaces::list::get),
        ),
        op(
            M::POST,
            "/api/v1/workspaces",
            "workspaces",
            "installation admin",
            "Create a workspace",
            Some("{slug, name}"),
            post(workspaces::create::post),
        ),
        op(
            M::GET,
            ws("/members"),
            "workspaces",
            "read",
            "Members and their roles",
            None,
            get(workspaces::members::list),
        ),
        op(
            M::PUT,
            ws("/members"),
            "workspaces",
            "admin",
            "Add a member or replace their roles",
            Some("{username, roles}"),
            put(workspaces::members::put),
        ),
        op(
            M::POST,
            ws("/members"),
            "workspaces",
            "admin",
            "Add a member or replace their roles",
            Some("{username, roles}"),
            post(workspaces::members::put),
        ),
        op(
            M::DELETE,
            ws("/members/{username}"),
            "workspaces",
            "admin",
            "Remove a member",
            None,
            delete(workspaces::members::delete),
        ),
        op(
            M::GET,
            ws("/policies"),
            "workspaces",
            "admin",
            "The workspace's own Cedar policies",
            None,
            get(workspaces::policies::get),
        ),
        op(
            M::PUT,
            ws("/policies"),
            "workspaces",
            "admin",
            "Replace the workspace's own Cedar policies (validated)",
            Some("{text}"),
            put(workspaces::policies::put),
        ),
        op(M::GET, ws("/forms"), "forms", "read", "Forms of the workspace", None, get(forms::list::get)),
        op(
            M::POST,
            ws("/forms"),
            "forms",
            "design",
            "Create a form from a definition (a draft)",
            Some("a form definition"),
            post(forms::create::post),
        ),
        op(
            M::GET,
            ws("/forms/{form}"),
            "forms",
            "read",
            "A form: its draft, problems and versions",
            None,
            get(forms::get::get),
        ),
        op(
            M::PUT,
            ws("/forms/{form}"),
            "forms",
            "design",
            "Save the draft",
            Some("a form definition"),
            put(forms::save::put),
        ),
        op(
            M::POST,
            ws("/forms/{form}/publish"),
            "forms",
            "design",
            "Publish the draft as the next immutable version",
            Some("{confirm?}"),
            post(forms::publish::post),
        ),
        op(
            M::GET,
            ws("/forms/{form}/versions/{version}"),
            "forms",
            "read",
            "One published version",
            None,
            get(forms::version::get),
        ),
        op(
            M::GET,
            ws("/forms/{form}/schema.json"),
            "forms",
            "read",
            "The JSON Schema (2020-12) of the latest version's records",
            None,
            get(forms::schema::get),
        ),
        op(
            M::GET,
            ws("/forms/{form}/records"),
            "records",
            "read",
            "Records: filters f.PATH[:OP], sort, cursor pages, field selection, total",
            None,
            get(records::list::get),
        ),
        op(
            M::POST,
            ws("/forms/{form}/records"),
            "records",
            "create (on the form)",
            "Submit a record",
            Some("the record's data"),
            post(records::create::post),
        ),
        op(M::GET, ws("/records/{id}"), "records", "read (on the record)", "One record", None, get(records::get::get)),
        op(
            M::PATCH,
            ws("/records/{id}"),
            "records",
            "update (on the record)",
            "Edit a record (If-Match or version; 409 on conflict)",
            Some("{data, version?, reason?}"),
            patch(records::patch::patch),
        ),
        op(
            M::DELETE,
            ws("/records/{id}"),
            "records",
            "delete (on the record)",
            "Delete a record (soft)",
            None,
            delete(records::delete::delete),
        ),
        op(
            M::POST,
            ws("/records/{id}/restore"),
            "records",
            "delete (on the record)",
            "Restore a deleted record",
            None,
            post(records::delete::restore),
        ),
        op(
            M::GET,
            ws("/records/{id}/history"),
            "records",
            "read (on the record)",
            "Every change of a record",
            None,
            get(records::history::get),
        ),
        op(
            M::POST,
            ws("/attachments"),
            "attachments",
            "read",
            "Upload a file for an attachment field (?name=; the body is the file)",
            Some("the file's bytes"),
            post(attachments::upload).layer(axum::extract::DefaultBodyLimit::max(attachments::MAX_SIZE)),
        ),
        op(
            M::GET,
            ws("/attachments/{id}"),
            "attachments",
            "read (its uploader, or the record's readers)",
            "Download a file",
            None,
            get(attachments::download),
        ),
        op(M::GET, ws("/audit"), "audit", "admin", "The audit log, in order", None, get(audit::list)),
        op(M::GET, ws("/audit/verify"), "audit", "admin", "Verify the audit hash chain", None, get(audit::verify)),
        op(
            M::POST,
            ws("/reports/run"),
            "reports",
            "read (form) + field and row permissions",
            "Run a report spec: aggregated groups and chart-ready data",
            Some("{form, filter?, dimensions?, measures, sort?, limit?, chart?}"),
            post(reports::run),
        ),
        op(
            M::POST,
            ws("/reports/records"),
            "reports",
            "read (form) + field and row permissions",
            "The records behind one element of a report, newest first",
            Some("{report, point, after?, limit?}"),
            post(reports::drill::post),
        ),
        op(
            M::POST,
            ws("/reports/export"),
            "reports",
            "read (form) + field and row permissions",
            "Export a report's table or its records as CSV or XLSX (streamed)",
            Some("{report, format: csv|xlsx, records?, point?}"),
            post(reports::export::post),
        ),
        op(M::GET, ws("/dashboards"), "dashboards", "read", "Dashboards of the workspace", None, get(dashboards::list)),
        op(
            M::POST,
            ws("/dashboards"),
            "dashboards",
            "design",
            "Create a dashboard (widgets' reports checked against their forms)",
            Some("{key, name, filters?, widgets}"),
            post(dashboards::create),
        ),
        op(
            M::GET,
            ws("/dashboards/{key}"),
            "dashboards",
            "read",
            "A dashboard's definition",
            None,
            get(dashboards::get),
        ),
        op(
            M::PUT,
            ws("/dashboards/{key}"),
            "dashboards",
            "design",
            "Replace a dashboard's definition",
            Some("{key, name, filters?, widgets}"),
            put(dashboards::save),
        ),
        op(
            M::DELETE,
            ws("/dashboards/{key}"),
            "dashboards",
            "design",
            "Delete a dashboard",
            None,
            delete(dashboards::delete),
        ),
        op(
            M::POST,
            ws("/dashboards/{key}/run"),
            "dashboards",
            "read (each widget: its form, fields and rows)",
            "Every widget's result with the shared filters applied",
            Some("{filters?}"),
            post(dashboards::run::post),
        ),
        op(
            M::GET,
            "/api/v1/packs",
            "packs",
            "signed in",
            "The template packs this server ships",
            None,
            get(packs::library),
        ),
        op(M::GET, ws("/packs"), "packs", "read", "Packs installed in the workspace", None, get(packs::installed)),
        op(
            M::POST,
            ws("/packs/{key}/install"),
            "packs",
            "admin",
            "Install a pack (with its dependencies) or upgrade it to the library's version; dry run shows the plan",
            Some("{dry_run?, confirm?, resolutions?: {\"form/iqc\": {path: ours|theirs}}}"),
            post(packs::post_install),
        ),
        op(
            M::POST,
            ws("/packs/{key}/uninstall"),
            "packs",
            "admin",
            "Forget a pack; with delete, remove its objects that hold no data",
            Some("{delete?}"),
            post(packs::post_uninstall),
        ),
        op(
            M::GET,
            ws("/qms/sampling-state"),
            "qms",
            "read (the IQC form) + row permissions",
            "Normal, tightened or reduced inspection of a supplier-part from its IQC lots (?supplier&part_no[&lot_size])",
            None,
            get(qms::sampling::get),
        ),
        op(
            M::POST,
            ws("/qms/scorecards"),
            "qms",
            "create (the scorecard form) + read of IQC, NCR, 8D",
            "Monthly supplier scorecards computed from IQC, NCR and 8D data",
            Some("{month: YYYY-MM}"),
            post(qms::scorecards::post),
        ),
        op(
            M::GET,
            ws("/search"),
            "search",
            "read (forms, rows; restricted fields are not indexed)",
            "Full-text search over records with highlighted snippets (?q&form&from&to&limit)",
            None,
            get(search::get),
        ),
        op(
            M::GET,
            ws("/trace"),
            "trace",
            "read (forms the caller reads in full)",
            "A lot's genealogy, backward or forward (?lot&direction&depth)",
            None,
            get(trace::get),
        ),
        op(M::GET, ws("/workflows"), "workflows", "read", "Workflows of the workspace", None, get(workflows::list)),
        op(
            M::POST,
            ws("/workflows"),
            "workflows",
            "design",
            "Create a workflow from a draft definition",
            Some("a workflow definition"),
            post(workflows::create),
        ),
        op(M::GET, ws("/workflows/{key}"), "workflows", "read", "A workflow and its draft", None, get(workflows::get)),
        op(
            M::PUT,
            ws("/workflows/{key}"),
            "workflows",
            "design",
            "Save the draft",
            Some("a workflow definition"),
            put(workflows::save),
        ),
        op(
            M::POST,
            ws("/workflows/{key}/publish"),
            "workflows",
            "design",
            "Check the draft against the workspace and publish it as the next version",
            None,
            post(workflows::publish::post),
        ),
        op(
            M::GET,
            ws("/workflow-instances/{id}"),
            "workflows",
            "read (on the record)",
            "An instance: status, tasks, history",
            None,
            get(instances::get),
        ),
        op(
            M::POST,
            ws("/workflow-instances/{id}/withdraw"),
            "workflows",
            "the submitter, before anyone decided",
            "Withdraw an instance",
            None,
            post(instances::withdraw),
        ),
        op(
            M::POST,
            ws("/workflow-instances/{id}/retry"),
            "workflows",
            "admin",
            "Call a blocked action again (same idempotency key)",
            None,
            post(instances::retry),
        ),
        op(
            M::POST,
            ws("/workflow-instances/{id}/skip"),
            "workflows",
            "admin",
            "Move a blocked instance past its failed action",
            None,
            post(instances::skip),
        ),
        op(M::GET, ws("/tasks"), "tasks", "read", "My tasks (assignee=me, status=open)", None, get(tasks::list)),
        op(
            M::POST,
            ws("/tasks/{id}/decision"),
            "tasks",
            "the task's assignee",
            "Decide a task: approve, reject, return, delegate, transfer, add_signer, resubmit",
            Some("{action, comment?, to?, users?, position?, data?}"),
            post(tasks::decision::post),
        ),
        op(
            M::GET,
            ws("/connectors"),
            "connectors",
            "admin",
            "Connectors (secrets never shown)",
            None,
            get(connectors::list),
        ),
        op(
            M::POST,
            ws("/connectors"),
            "connectors",
            "admin",
            "Create a connector",
            Some("{name, kind, config, secret?}"),
            post(connectors::create),
        ),
        op(
            M::PUT,
            ws("/connectors/{name}"),
            "connectors",
            "admin",
            "Replace a connector's kind and config (and secret, when sent)",
            Some("{name, kind, config, secret?}"),
            put(connectors::update),
        ),
        op(
            M::POST,
            ws("/connectors/{name}/test"),
            "connectors",
            "admin",
            "Test a connector: reach it and, where it has one, log in (nothing is sent or changed)",
            None,
            post(connectors::test),
        ),
        op(
            M::GET,
            ws("/outbox"),
            "outbox",
            "admin",
            "External calls and their attempts (?status=dead)",
            None,
            get(outbox::list),
        ),
        op(
            M::POST,
            ws("/outbox/{id}/retry"),
            "outbox",
            "admin",
            "Deliver a failed or dead call again",
            None,
            post(outbox::retry),
        ),
    ]
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (endpoint, handler) in endpoints() {
        // Routes of one path merge their methods.
        router = router.route(&endpoint.path, handler);
    }
    router.fallback(not_found).method_not_allowed_fallback(method_not_allowed).with_state(state)
}

/// A named path parameter (routes guarantee it is there; absent reads as empty, which no
/// lookup matches).
pub fn path_param<'a>(params: &'a std::collections::HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or_default()
}

/// Unknown routes: the browser app's files where the server has them, else the JSON 404.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    if (method == Method::GET || method == Method::HEAD) && !path.starts_with("/api/") {
        match &state.web {
            Some(bundle) => {
                if let Some(response) = bundle.respond(path, &headers) {
                    return response;
                }
            }
            None if path == "/" => return crate::web::missing_page(),
            None => {}
        }
    }
    ApiError::new("not_found", "no such route").into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new("method_not_allowed", "this route does not take that method")
}
