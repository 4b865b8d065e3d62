//! Dashboards: a grid of report widgets with shared filters, and drill-down from a chart
//! element to the records behind it. Both work by adding conditions to a widget's report
//! spec, so they go through the same check and plan as any report.
//!
//! ```json
//! {"key": "cockpit", "name": {"en": "Supplier quality", "zh-CN": "供应商质量"},
//!  "filters": [{"key": "period", "kind": "date_range", "label": {"en": "Period", "zh-CN": "期间"}},
//!              {"key": "supplier", "kind": "values", "label": {"en": "Supplier", "zh-CN": "供应商"}}],
//!  "widgets": [{"key": "ranking", "title": {"en": "Pass rate", "zh-CN": "合格率"},
//!               "x": 0, "y": 0, "w": 6, "h": 4,
//!               "filters": {"period": "received_on", "supplier": "supplier"},
//!               "report": {"form": "iqc", "measures": [{"fn": "count", "as": "lots"}]}}]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::dates::{add_days, days_from_civil, parse_date};
use super::plan::{Kind, OTHERS, format_date};
use super::spec::{Bucket, Condition, FieldCondition, Op, ReportSpec};
use crate::I18nText;
use crate::form::{Code, Date, Issue};

/// Grid columns.
pub const COLUMNS: u32 = 12;
pub const MAX_WIDGETS: usize = 40;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    pub key: String,
    pub name: I18nText,
    #[serde(default)]
    pub filters: Vec<SharedFilter>,
    pub widgets: Vec<Widget>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterKind {
    /// `{"from": "YYYY-MM-DD"?, "to": "YYYY-MM-DD"?}` or `{"relative": "last_30_days"}`.
    DateRange,
    /// A list of values; a record matches one of them.
    Values,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedFilter {
    pub key: String,
    pub kind: FilterKind,
    pub label: I18nText,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Widget {
    pub key: String,
    pub title: I18nText,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// Shared filter key -> the field of this widget's form(s) it filters.
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
    /// The widget's report; or, for a funnel across forms, `stages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportSpec>,
    /// A funnel whose stages are one number each, from reports over different forms (IQC,
    /// IPQC and FQC pass rates, say): each stage's report has no dimensions, and its first
    /// measure is the stage's value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub label: I18nText,
    pub report: ReportSpec,
}

impl Widget {
    /// The widget's reports with their paths in the definition.
    pub fn reports(&self) -> Vec<(String, &ReportSpec)> {
        match &self.report {
            Some(report) => vec![("report".to_owned(), report)],
            None => self.stages.iter().enumerate().map(|(i, s)| (format!("stages/{i}/report"), &s.report)).collect(),
        }
    }
}

fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parses a definition, with serde's message as the detail of one issue.
pub fn parse_dashboard(value: &Value) -> Result<Dashboard, Vec<Issue>> {
    Dashboard::deserialize(value)
        .map_err(|error| vec![Issue::new("", Code::InvalidDefinition).param("detail", error.to_string())])
}

impl Dashboard {
    /// The dashboard's own structure: keys, names in both languages, the grid, filter
    /// references. (Each widget's report is checked against its form by the caller.)
    pub fn check(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        if !is_key(&self.key) {
            issues.push(Issue::new("/key", Code::MalformedKey).param("key", self.key.as_str()));
        }
        let mut names = vec![("/name".to_owned(), &self.name)];
        for (i, f) in self.filters.iter().enumerate() {
            if !is_key(&f.key) {
                issues.push(Issue::new(format!("/filters/{i}/key"), Code::MalformedKey).param("key", f.key.as_str()));
            }
            if self.filters[..i].iter().any(|o| o.key == f.key) {
                issues.push(
                    Issue::new(format!("/filters/{i}/key"), Code::DuplicateKey)
                        .param("key", f.key.as_str())
                        .param("first", "another filter"),
                );
            }
            names.push((format!("/filters/{i}/label"), &f.label));
        }
        if self.widgets.is_empty() || self.widgets.len() > MAX_WIDGETS {
            issues.push(Issue::new("/widgets", Code::InvalidValue));
        }
        for (i, w) in self.widgets.iter().enumerate() {
            let path = format!("/widgets/{i}");
            if !is_key(&w.key) {
                issues.push(Issue::new(format!("{path}/key"), Code::MalformedKey).param("key", w.key.as_str()));
            }
            if self.widgets[..i].iter().any(|o| o.key == w.key) {
                issues.push(
                    Issue::new(format!("{path}/key"), Code::DuplicateKey)
                        .param("key", w.key.as_str())
                        .param("first", "another widget"),
                );
            }
            if w.w == 0 || w.h == 0 || w.x + w.w > COLUMNS || w.h > 24 || w.y > 1000 {
                issues.push(Issue::new(format!("{path}/w"), Code::InvalidValue));
            }
            match (&w.report, w.stages.len()) {
                (Some(_), 0) => {}
                (None, 1..=8) => {
                    for (j, stage) in w.stages.iter().enumerate() {
                        if !stage.report.dimensions.is_empty() {
                            issues.push(
                                Issue::new(format!("{path}/stages/{j}/report/dimensions"), Code::InvalidDefinition)
                                    .param("detail", "a funnel stage is one number: no dimensions"),
                            );
                        }
                        names.push((format!("{path}/stages/{j}/label"), &stage.label));
                    }
                }
                _ => issues.push(
                    Issue::new(format!("{path}/report"), Code::InvalidDefinition)
                        .param("detail", "a widget has a report, or 1 to 8 funnel stages"),
                ),
            }
            for filter in w.filters.keys() {
                if !self.filters.iter().any(|f| &f.key == filter) {
                    issues.push(
                        Issue::new(format!("{path}/filters/{filter}"), Code::UnknownReference)
                            .param("name", filter.as_str()),
                    );
                }
            }
            names.push((format!("{path}/title"), &w.title));
        }
        // Packs and screens show both languages: a missing one is a mistake, not a default.
        for (path, text) in names {
            if text.en.as_deref().is_none_or(str::is_empty) || text.zh_cn.as_deref().is_none_or(str::is_empty) {
                issues.push(Issue::new(path, Code::Required).param("detail", "both en and zh-CN"));
            }
        }
        issues
    }

    /// The widget's reports (one, or one per funnel stage) with the shared filter values
    /// applied. `values` maps filter keys to their values; filters the widget does not map are
    /// ignored, unknown keys refused.
    pub fn widget_reports(&self, widget: &Widget, values: &Map<String, Value>) -> Result<Vec<ReportSpec>, Vec<Issue>> {
        let mut issues = Vec::new();
        let mut added = Vec::new();
        for (key, value) in values {
            let path = format!("/filters/{key}");
            let Some(filter) = self.filters.iter().find(|f| &f.key == key) else {
                issues.push(Issue::new(path, Code::UnknownReference).param("name", key.as_str()));
                continue;
            };
            let Some(field) = widget.filters.get(key) else { continue };
            match filter_condition(filter.kind, field, value) {
                Ok(Some(condition)) => added.push(condition),
                Ok(None) => {}
                Err(()) => issues.push(Issue::new(path, Code::WrongType).param(
                    "expected",
                    match filter.kind {
                        FilterKind::DateRange => "{from, to} or {relative}",
                        FilterKind::Values => "a list of values",
                    },
                )),
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(widget.reports().into_iter().map(|(_, report)| with_conditions(report, added.clone())).collect())
    }
}

fn filter_condition(kind: FilterKind, field: &str, value: &Value) -> Result<Option<Condition>, ()> {
    let condition = |op, value| Condition::Field(FieldCondition { field: field.to_owned(), op, value });
    match kind {
        FilterKind::DateRange => {
            if value.is_null() {
                return Ok(None);
            }
            let object = value.as_object().ok_or(())?;
            if let Some(relative) = object.get("relative") {
                return Ok(Some(condition(Op::Relative, relative.clone())));
            }
            let bound = |k: &str| object.get(k).cloned().unwrap_or(Value::Null);
            let (from, to) = (bound("from"), bound("to"));
            if from.is_null() && to.is_null() {
                return Ok(None);
            }
            Ok(Some(condition(Op::Between, json!([from, to]))))
        }
        FilterKind::Values => match value {
            Value::Null => Ok(None),
            Value::Array(list) if list.is_empty() => Ok(None),
            Value::Array(list) => Ok(Some(condition(Op::In, Value::Array(list.clone())))),
            _ => Err(()),
        },
    }
}

/// `spec` with `conditions` and-ed to its filter.
pub fn with_conditions(spec: &ReportSpec, conditions: Vec<Condition>) -> ReportSpec {
    let mut spec = spec.clone();
    if conditions.is_empty() {
        return spec;
    }
    let mut all: Vec<Condition> = spec.filter.take().into_iter().collect();
    all.extend(conditions);
    spec.filter = Some(Condition::And { and: all });
    spec
}

/// The inclusive local-date range a bucket label names (`2026-05-07`, `2026-W19`,
/// `2026-05`, `2026-Q2`, `2026`).
pub fn bucket_range(bucket: Bucket, label: &str) -> Option<(Date, Date)> {
    let year = |text: &str| text.parse::<i32>().ok().filter(|y| (1..=9999).contains(y));
    match bucket {
        Bucket::Day => parse_date(label).map(|d| (d, d)),
        Bucket::Month => {
            let first = parse_date(&format!("{label}-01"))?;
            let next = if first.month == 12 {
                Date { year: first.year + 1, month: 1, day: 1 }
            } else {
                Date { month: first.month + 1, ..first }
            };
            Some((first, add_days(next, -1)))
        }
        Bucket::Quarter => {
            let (y, q) = label.split_once("-Q")?;
            let q: u8 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
            let first = Date { year: year(y)?, month: (q - 1) * 3 + 1, day: 1 };
            let next = if q == 4 {
                Date { year: first.year + 1, month: 1, day: 1 }
            } else {
                Date { month: first.month + 3, ..first }
            };
            Some((first, add_days(next, -1)))
        }
        Bucket::Year => {
            let y = year(label)?;
            Some((Date { year: y, month: 1, day: 1 }, Date { year: y, month: 12, day: 31 }))
        }
        Bucket::Week => {
            // ISO week: week 1 holds 4 January; weeks start on Monday.
            let (y, w) = label.split_once("-W")?;
            let (y, w): (i32, i64) = (year(y)?, w.parse().ok().filter(|w| (1..=53).contains(w))?);
            let jan4 = Date { year: y, month: 1, day: 4 };
            let monday = days_from_civil(jan4) - (days_from_civil(jan4) + 3).rem_euclid(7);
            let start = add_days(jan4, monday - days_from_civil(jan4) + (w - 1) * 7);
            Some((start, add_days(start, 6)))
        }
    }
}

/// The conditions that select the records behind one element of a report: for each
/// dimension named in `point`, its value (`null` for "no value", a bucket label for a time
/// dimension, `__others__` for a top-N's remainder, which needs the `top` values shown).
/// Labels arrive as the report returned them, as text; `kinds` (the form's fields) turns
/// them back into numbers and booleans.
pub fn drill_conditions(
    spec: &ReportSpec,
    kinds: &[(String, Kind)],
    point: &Map<String, Value>,
    top: &[String],
) -> Result<Vec<Condition>, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut conditions = Vec::new();
    for (name, value) in point {
        let path = format!("/point/{name}");
        let Some(dimension) = spec.dimensions.iter().find(|d| d.name.as_deref().unwrap_or(&d.field) == name) else {
            issues.push(Issue::new(path, Code::UnknownReference).param("name", name.as_str()));
            continue;
        };
        let field = dimension.field.clone();
        let condition = |op, value| Condition::Field(FieldCondition { field: field.clone(), op, value });
        match value {
            Value::Null => conditions.push(condition(Op::Exists, json!(false))),
            Value::String(text) if text == OTHERS => {
                conditions.push(condition(Op::Exists, json!(true)));
                if !top.is_empty() {
                    conditions.push(Condition::Not { not: Box::new(condition(Op::In, json!(top))) });
                }
            }
            Value::String(text) if dimension.bucket.is_some() || field == "created_at" => {
                match bucket_range(dimension.bucket.unwrap_or(Bucket::Day), text) {
                    Some((from, to)) => {
                        conditions.push(condition(Op::Between, json!([format_date(from), format_date(to)])))
                    }
                    None => issues.push(Issue::new(path, Code::InvalidValue)),
                }
            }
            Value::String(text) => {
                let kind = kinds.iter().find(|(k, _)| *k == field).map(|(_, kind)| *kind);
                let typed = match kind {
                    Some(Kind::Number) => text.parse::<f64>().ok().map(|n| json!(n)),
                    Some(Kind::Bool) => text.parse::<bool>().ok().map(Value::Bool),
                    _ => Some(value.clone()),
                };
                match typed {
                    Some(typed) => conditions.push(condition(Op::Eq, typed)),
                    None => issues.push(Issue::new(path, Code::InvalidValue)),
                }
            }
            Value::Number(_) | Value::Bool(_) => conditions.push(condition(Op::Eq, value.clone())),
            _ => issues.push(Issue::new(path, Code::WrongType).param("expected", "text")),
        }
    }
    if issues.is_empty() { Ok(conditions) } else { Err(issues) }
}
