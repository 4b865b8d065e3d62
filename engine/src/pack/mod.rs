//! Template packs (DESIGN §10): a manifest and the forms, workflows and dashboards a factory
//! installs into a workspace and keeps editing; upgrades merge three ways so the factory's own
//! changes survive a new pack version.
//!
//! Everything here is values in, values out: the server reads the pack files, the workspace's
//! current objects and what was installed, and applies the plan this module computes.

pub mod merge;
pub mod sample;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::I18nText;
use crate::form::{Code, CompiledForm, Issue, data_fields};
use crate::report::{form_kinds, parse_dashboard, plan};
use crate::workflow::{Catalog, CompiledWorkflow, parse_workflow};

pub use merge::{Conflict, merge, set_at};

/// `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text
            .split('.')
            .map(|p| p.parse::<u64>().ok().filter(|_| !p.is_empty() && (p == "0" || !p.starts_with('0'))));
        let version = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub key: String,
    /// The lowest version that works (same major version).
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub key: String,
    pub name: I18nText,
}

/// A connector the pack's workflows call, which an administrator creates and fills in
/// (addresses, credentials) after installing: the pack never carries secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorPlaceholder {
    pub name: String,
    /// `http`, `jsonrpc`, `tryton`, `smtp`, ...
    pub kind: String,
    pub label: I18nText,
    /// The operations the workflows use (`*` for any).
    #[serde(default)]
    pub operations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub key: String,
    pub version: String,
    pub name: I18nText,
    pub description: I18nText,
    #[serde(default)]
    pub depends: Vec<Dependency>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub connectors: Vec<ConnectorPlaceholder>,
    /// How to generate sample records for a demo workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<sample::SampleSpec>,
}

/// What a pack installs, by kind and key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Form,
    Workflow,
    Dashboard,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Form => "form",
            Kind::Workflow => "workflow",
            Kind::Dashboard => "dashboard",
        }
    }
}

/// Objects by kind and key: a pack's content, or a workspace's current copies of them.
pub type Contents = BTreeMap<(Kind, String), Value>;

#[derive(Clone, Debug, PartialEq)]
pub struct Pack {
    pub manifest: Manifest,
    pub contents: Contents,
}

impl Pack {
    /// Builds a pack from its manifest and object definitions (each with its `key`).
    pub fn new(manifest: &Value, objects: impl IntoIterator<Item = (Kind, Value)>) -> Result<Pack, Vec<Issue>> {
        let manifest = Manifest::deserialize(manifest)
            .map_err(|e| vec![Issue::new("/pack.json", Code::InvalidDefinition).param("detail", e.to_string())])?;
        let mut contents = Contents::new();
        let mut issues = Vec::new();
        for (kind, value) in objects {
            match value.get("key").and_then(Value::as_str) {
                Some(key) => {
                    if contents.insert((kind, key.to_owned()), value.clone()).is_some() {
                        issues.push(
                            Issue::new(format!("/{}s/{key}", kind.as_str()), Code::DuplicateKey)
                                .param("key", key)
                                .param("first", "the same pack"),
                        );
                    }
                }
                None => issues.push(Issue::new(format!("/{}s", kind.as_str()), Code::Required).param("detail", "key")),
            }
        }
        if issues.is_empty() { Ok(Pack { manifest, contents }) } else { Err(issues) }
    }

    pub fn version(&self) -> Option<Version> {
        Version::parse(&self.manifest.version)
    }

    pub fn objects(&self, kind: Kind) -> impl Iterator<Item = (&str, &Value)> {
        self.contents.iter().filter(move |((k, _), _)| *k == kind).map(|((_, key), value)| (key.as_str(), value))
    }
}

fn both_languages(text: &I18nText) -> bool {
    text.en.as_deref().is_some_and(|t| !t.trim().is_empty())
        && text.zh_cn.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// Every user-facing text in a definition (`name`, `label`, `title`, `description`, `help`,
/// `placeholder`) must be given in both languages, as an object with `en` and `zh-CN`.
fn check_languages(path: &str, value: &Value, issues: &mut Vec<Issue>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let at = format!("{path}/{key}");
                if matches!(key.as_str(), "name" | "label" | "title" | "description" | "help" | "placeholder")
                    && !inner.is_object()
                {
                    issues.push(Issue::new(at.clone(), Code::Required).param("detail", "both en and zh-CN"));
                    continue;
                }
                if matches!(key.as_str(), "name" | "label" | "title" | "description" | "help" | "placeholder") {
                    let ok = ["en", "zh-CN"]
                        .iter()
                        .all(|l| inner.get(l).and_then(Value::as_str).is_some_and(|t| !t.trim().is_empty()));
                    if !ok {
                        issues.push(Issue::new(at.clone(), Code::Required).param("detail", "both en and zh-CN"));
                    }
                    continue;
                }
                check_languages(&at, inner, issues);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_languages(&format!("{path}/{i}"), item, issues);
            }
        }
        _ => {}
    }
}

/// Checks a pack as shipped: the manifest (key, version, both languages, dependencies found
/// in `library`), every form compiles, every workflow compiles against the pack's (and its
/// dependencies') forms, roles and connector placeholders, every dashboard's widgets plan
/// against those forms, every text in both languages. Issue paths start with the object.
pub fn check(pack: &Pack, library: &[&Pack]) -> Vec<Issue> {
    let mut issues = Vec::new();
    let m = &pack.manifest;
    if !m.key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        || !m.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        issues.push(Issue::new("/pack.json/key", Code::MalformedKey).param("key", m.key.as_str()));
    }
    if pack.version().is_none() {
        issues.push(Issue::new("/pack.json/version", Code::InvalidValue));
    }
    for (what, text) in [("name", &m.name), ("description", &m.description)] {
        if !both_languages(text) {
            issues.push(Issue::new(format!("/pack.json/{what}"), Code::Required).param("detail", "both en and zh-CN"));
        }
    }
    let mut with_dependencies = vec![pack];
    for (i, dependency) in m.depends.iter().enumerate() {
        let found = library.iter().find(|p| p.manifest.key == dependency.key);
        let wanted = Version::parse(&dependency.version);
        match (found, wanted) {
            (Some(found), Some(wanted)) if found.version().is_some_and(|v| v.0 == wanted.0 && v >= wanted) => {
                with_dependencies.push(found)
            }
            _ => issues.push(
                Issue::new(format!("/pack.json/depends/{i}"), Code::UnknownReference)
                    .param("name", dependency.key.as_str()),
            ),
        }
    }
    for (i, role) in m.roles.iter().enumerate() {
        if !both_languages(&role.name) {
            issues.push(
                Issue::new(format!("/pack.json/roles/{i}/name"), Code::Required).param("detail", "both en and zh-CN"),
            );
        }
    }
    // Forms first: workflows and dashboards are checked against them.
    let mut compiled: BTreeMap<String, CompiledForm> = BTreeMap::new();
    for source in &with_dependencies {
        for (key, definition) in source.objects(Kind::Form) {
            match CompiledForm::compile(definition, crate::Lang::En) {
                Ok(form) => {
                    compiled.insert(key.to_owned(), form);
                }
                Err(found) => {
                    if std::ptr::eq(*source, pack) {
                        issues.extend(found.into_iter().map(|mut issue| {
                            issue.path = format!("/forms/{key}{}", issue.path);
                            issue
                        }));
                    }
                }
            }
        }
    }
    for (key, definition) in pack.objects(Kind::Form) {
        check_languages(&format!("/forms/{key}"), definition, &mut issues);
    }
    let mut roles: BTreeSet<String> = crate::workflow::BUILT_IN_ROLES.iter().map(|r| (*r).to_owned()).collect();
    roles.extend(with_dependencies.iter().flat_map(|p| p.manifest.roles.iter().map(|r| r.key.clone())));
    let catalog = Catalog {
        forms: compiled
            .iter()
            .map(|(key, form)| {
                (key.clone(), data_fields(&form.definition().fields).into_iter().map(|(f, _)| f.key.clone()).collect())
            })
            .collect(),
        roles,
        connectors: with_dependencies
            .iter()
            .flat_map(|p| p.manifest.connectors.iter().map(|c| (c.name.clone(), c.operations.clone())))
            .collect(),
    };
    for (key, definition) in pack.objects(Kind::Workflow) {
        let result = parse_workflow(definition)
            .map_err(|message| vec![Issue::new("", Code::InvalidDefinition).param("detail", message)])
            .and_then(|parsed| CompiledWorkflow::compile(parsed, Some(&catalog)).map(|_| ()));
        if let Err(found) = result {
            issues.extend(found.into_iter().map(|mut issue| {
                issue.path = format!("/workflows/{key}{}", issue.path);
                issue
            }));
        }
        check_languages(&format!("/workflows/{key}"), definition, &mut issues);
    }
    let today = crate::form::Date { year: 2026, month: 1, day: 1 };
    // Sample data must pass its forms: a few days of it are processed here.
    if let Some(spec) = &m.sample {
        issues.extend(sample::check(spec));
        for (i, form) in spec.forms.iter().enumerate() {
            if !compiled.contains_key(&form.form) {
                issues.push(
                    Issue::new(format!("/pack.json/sample/forms/{i}/form"), Code::UnknownForm)
                        .param("form", form.form.as_str()),
                );
            }
        }
        let few = sample::SampleSpec { days: spec.days.min(3), forms: spec.forms.clone() };
        for (form_key, day, record) in sample::generate(&few, today, 7) {
            let Some(form) = compiled.get(&form_key) else { continue };
            let ctx = crate::form::RecordContext { today: Some(day), ..crate::form::RecordContext::default() };
            let outcome = form.process(&record, &ctx);
            issues.extend(outcome.issues.into_iter().map(|mut issue| {
                issue.path = format!("/pack.json/sample/{form_key}{}", issue.path);
                issue
            }));
        }
    }
    for (key, definition) in pack.objects(Kind::Dashboard) {
        let dashboard = match parse_dashboard(definition) {
            Ok(dashboard) => dashboard,
            Err(found) => {
                issues.extend(found.into_iter().map(|mut issue| {
                    issue.path = format!("/dashboards/{key}{}", issue.path);
                    issue
                }));
                continue;
            }
        };
        let mut found = dashboard.check();
        for (i, widget) in dashboard.widgets.iter().enumerate() {
            let mut kinds = Vec::new();
            for (at, report) in widget.reports() {
                let Some(form) = compiled.get(&report.form) else {
                    found.push(
                        Issue::new(format!("/widgets/{i}/{at}/form"), Code::UnknownReference)
                            .param("name", report.form.as_str()),
                    );
                    continue;
                };
                let fields = form_kinds(&form.definition().fields);
                if let Err(planned) = plan(report, &fields, today) {
                    found.extend(planned.into_iter().map(|mut issue| {
                        issue.path = format!("/widgets/{i}/{at}{}", issue.path);
                        issue
                    }));
                }
                kinds.push(fields);
            }
            for (filter, field) in &widget.filters {
                // The field must exist in every form the widget reads.
                if field != "created_at" && !kinds.iter().all(|k| k.iter().any(|(key, _)| key == field)) {
                    found.push(
                        Issue::new(format!("/widgets/{i}/filters/{filter}"), Code::UnknownField)
                            .param("field", field.as_str()),
                    );
                }
            }
        }
        issues.extend(found.into_iter().map(|mut issue| {
            issue.path = format!("/dashboards/{key}{}", issue.path);
            issue
        }));
    }
    issues
}

/// What installing or upgrading does to one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// New in the workspace.
    Create { value: Value },
    /// The pack changed it; the merge (with the factory's changes kept) is `value`.
    Update { value: Value, conflicts: Vec<Conflict> },
    /// Nothing to do (the same, or only the factory changed it).
    Unchanged,
    /// The pack dropped it and the factory never changed it.
    Remove,
    /// The pack dropped or changed it, but the factory deleted or changed it: left alone.
    KeepLocal { reason: &'static str },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub kind: Kind,
    pub key: String,
    #[serde(flatten)]
    pub change: Change,
}

/// The plan for moving a workspace from `installed` (the pack contents installed last, `None`
/// for a first install) to `next`, given the workspace's `current` objects of those keys.
pub fn plan_upgrade(installed: Option<&Contents>, current: &Contents, next: &Contents) -> Vec<Step> {
    let empty = Contents::new();
    let base = installed.unwrap_or(&empty);
    let mut keys: BTreeSet<&(Kind, String)> = next.keys().collect();
    keys.extend(base.keys());
    let mut steps = Vec::new();
    for id in keys {
        let (b, c, n) = (base.get(id), current.get(id), next.get(id));
        let change = match (b, c, n) {
            (None, None, Some(n)) => Change::Create { value: n.clone() },
            (Some(b), None, Some(n)) if b == n => Change::KeepLocal { reason: "deleted in the workspace" },
            (Some(_), None, Some(_)) => Change::KeepLocal { reason: "deleted in the workspace, changed by the pack" },
            (_, Some(c), Some(_)) => {
                let (merged, conflicts) = merge(b, Some(c), n);
                match merged {
                    Some(value) if &value == c && conflicts.is_empty() => Change::Unchanged,
                    Some(value) => Change::Update { value, conflicts },
                    None => Change::Unchanged,
                }
            }
            (Some(b), Some(c), None) if b == c => Change::Remove,
            (Some(_), Some(_), None) => Change::KeepLocal { reason: "dropped by the pack, changed in the workspace" },
            // Not the pack's (never installed from it): the workspace's own object.
            (None, Some(_), None) | (_, None, None) => Change::Unchanged,
        };
        steps.push(Step { kind: id.0, key: id.1.clone(), change });
    }
    steps
}
