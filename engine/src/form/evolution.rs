//! Schema evolution: what changes between two versions of a definition, and which stored
//! values would no longer validate under the new one.
//!
//! Old records keep the version they were filled on, so nothing breaks on publish; the
//! report tells the designer what editing an old record under the new version would meet.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::compile::CompiledForm;
use super::issue::Issue;
use super::process::RecordContext;
use super::{Field, FieldKind, FormDefinition, data_fields};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compatibility {
    /// Every record valid under the old version stays valid.
    Compatible,
    /// Some stored values may not validate, or will be hidden or recomputed.
    NeedsAttention,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    FieldAdded,
    FieldRemoved,
    TypeChanged,
    BecameRequired,
    BecameOptional,
    ConstraintTightened,
    ConstraintRelaxed,
    OptionAdded,
    OptionRemoved,
    LimitsChanged,
    RuleChanged,
    PresentationChanged,
}

/// One difference between the versions, at a field path such as `/items/measure`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    pub compatibility: Compatibility,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// A stored value that the new version would reject.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredValueProblem {
    pub record: String,
    #[serde(flatten)]
    pub issue: Issue,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvolutionReport {
    pub compatibility: Compatibility,
    pub changes: Vec<Change>,
    pub stored_values: Vec<StoredValueProblem>,
}

/// Compares two versions and checks stored records (id, data as stored) against the new one.
pub fn compare<'r>(
    old: &FormDefinition,
    new: &CompiledForm,
    records: impl IntoIterator<Item = (&'r str, &'r Value)>,
    ctx: &RecordContext<'_>,
) -> EvolutionReport {
    let mut changes = Vec::new();
    diff_fields(&old.fields, &new.definition().fields, "", &mut changes);
    let mut stored_values = Vec::new();
    for (id, data) in records {
        // Stored records carry server-owned values; passing the record as `previous` keeps
        // auto-numbers and read-only values as they are.
        let ctx = RecordContext { previous: Some(data), ..ctx.clone() };
        for issue in new.process(data, &ctx).issues {
            stored_values.push(StoredValueProblem { record: id.to_owned(), issue });
        }
    }
    let attention =
        !stored_values.is_empty() || changes.iter().any(|c| c.compatibility == Compatibility::NeedsAttention);
    let compatibility = if attention { Compatibility::NeedsAttention } else { Compatibility::Compatible };
    EvolutionReport { compatibility, changes, stored_values }
}

fn diff_fields(old: &[Field], new: &[Field], base: &str, changes: &mut Vec<Change>) {
    let old_fields: HashMap<&str, &Field> = data_fields(old).into_iter().map(|(f, _)| (f.key.as_str(), f)).collect();
    let new_fields: Vec<&Field> = data_fields(new).into_iter().map(|(f, _)| f).collect();
    for (key, field) in data_fields(old).into_iter().map(|(f, _)| (f.key.as_str(), f)) {
        if !new_fields.iter().any(|f| f.key == key) {
            let path = format!("{base}/{key}");
            let before = Some(json!(field.kind.type_name()));
            changes.push(change(path, ChangeKind::FieldRemoved, Compatibility::NeedsAttention, None, before, None));
        }
    }
    for field in new_fields {
        let path = format!("{base}/{}", field.key);
        match old_fields.get(field.key.as_str()) {
            None => {
                let required = field.common.required && field.common.default.is_none();
                let compatibility = if required { Compatibility::NeedsAttention } else { Compatibility::Compatible };
                let after = Some(json!(field.kind.type_name()));
                changes.push(change(path, ChangeKind::FieldAdded, compatibility, None, None, after));
            }
            Some(old_field) => diff_field(old_field, field, &path, changes),
        }
    }
}

fn change(
    path: String,
    kind: ChangeKind,
    compatibility: Compatibility,
    property: Option<&str>,
    before: Option<Value>,
    after: Option<Value>,
) -> Change {
    Change { path, kind, compatibility, property: property.map(str::to_owned), before, after }
}

fn diff_field(old: &Field, new: &Field, path: &str, changes: &mut Vec<Change>) {
    let (old_type, new_type) = (old.kind.type_name(), new.kind.type_name());
    if old_type != new_type {
        // Text to multi-line text keeps every value valid; every other change may not.
        let compatible = matches!((old_type, new_type), ("text", "textarea"));
        let compatibility = if compatible { Compatibility::Compatible } else { Compatibility::NeedsAttention };
        changes.push(change(
            path.to_owned(),
            ChangeKind::TypeChanged,
            compatibility,
            Some("type"),
            Some(json!(old_type)),
            Some(json!(new_type)),
        ));
        return;
    }
    let (oc, nc) = (&old.common, &new.common);
    if !oc.required && nc.required {
        changes.push(change(
            path.to_owned(),
            ChangeKind::BecameRequired,
            Compatibility::NeedsAttention,
            Some("required"),
            None,
            None,
        ));
    }
    if oc.required && !nc.required {
        changes.push(change(
            path.to_owned(),
            ChangeKind::BecameOptional,
            Compatibility::Compatible,
            Some("required"),
            None,
            None,
        ));
    }
    for (property, before, after) in
        [("visible_if", &oc.visible_if, &nc.visible_if), ("required_if", &oc.required_if, &nc.required_if)]
    {
        if before != after {
            changes.push(change(
                path.to_owned(),
                ChangeKind::RuleChanged,
                Compatibility::NeedsAttention,
                Some(property),
                before.as_ref().map(|s| json!(s)),
                after.as_ref().map(|s| json!(s)),
            ));
        }
    }
    if oc.label != nc.label || oc.help != nc.help {
        changes.push(change(
            path.to_owned(),
            ChangeKind::PresentationChanged,
            Compatibility::Compatible,
            Some("label"),
            None,
            None,
        ));
    }
    diff_kind(&old.kind, &new.kind, path, changes);
}

/// Compares a bound: `upper` bounds tighten when they go down, lower bounds when they go up.
fn bound(path: &str, property: &str, before: Option<f64>, after: Option<f64>, upper: bool, changes: &mut Vec<Change>) {
    if before == after {
        return;
    }
    let tightened = match (before, after) {
        (None, Some(_)) => true,
        (Some(_), None) => false,
        (Some(b), Some(a)) => (upper && a < b) || (!upper && a > b),
        (None, None) => return,
    };
    let (kind, compatibility) = if tightened {
        (ChangeKind::ConstraintTightened, Compatibility::NeedsAttention)
    } else {
        (ChangeKind::ConstraintRelaxed, Compatibility::Compatible)
    };
    changes.push(change(
        path.to_owned(),
        kind,
        compatibility,
        Some(property),
        before.map(|v| json!(v)),
        after.map(|v| json!(v)),
    ));
}

fn as_f64(value: Option<u64>) -> Option<f64> {
    value.map(|v| v as f64)
}

fn diff_kind(old: &FieldKind, new: &FieldKind, path: &str, changes: &mut Vec<Change>) {
    match (old, new) {
        (FieldKind::Text(o) | FieldKind::Textarea(o), FieldKind::Text(n) | FieldKind::Textarea(n)) => {
            bound(path, "min_length", as_f64(o.min_length), as_f64(n.min_length), false, changes);
            bound(path, "max_length", as_f64(o.max_length), as_f64(n.max_length), true, changes);
            if o.pattern != n.pattern {
                let kind =
                    if n.pattern.is_none() { ChangeKind::ConstraintRelaxed } else { ChangeKind::ConstraintTightened };
                let compatibility =
                    if n.pattern.is_none() { Compatibility::Compatible } else { Compatibility::NeedsAttention };
                changes.push(change(
                    path.to_owned(),
                    kind,
                    compatibility,
                    Some("pattern"),
                    o.pattern.as_ref().map(|p| json!(p)),
                    n.pattern.as_ref().map(|p| json!(p)),
                ));
            }
        }
        (FieldKind::Number(o), FieldKind::Number(n)) => {
            bound(path, "min", o.min, n.min, false, changes);
            bound(path, "max", o.max, n.max, true, changes);
            bound(path, "precision", o.precision.map(f64::from), n.precision.map(f64::from), true, changes);
            if o.integer != n.integer {
                let tightened = n.integer;
                changes.push(change(
                    path.to_owned(),
                    if tightened { ChangeKind::ConstraintTightened } else { ChangeKind::ConstraintRelaxed },
                    if tightened { Compatibility::NeedsAttention } else { Compatibility::Compatible },
                    Some("integer"),
                    Some(json!(o.integer)),
                    Some(json!(n.integer)),
                ));
            }
        }
        (FieldKind::Select(o), FieldKind::Select(n)) => diff_options(&o.options, &n.options, path, changes),
        (FieldKind::Multiselect(o), FieldKind::Multiselect(n)) => {
            diff_options(&o.options, &n.options, path, changes);
            bound(path, "min_items", as_f64(o.min_items), as_f64(n.min_items), false, changes);
            bound(path, "max_items", as_f64(o.max_items), as_f64(n.max_items), true, changes);
        }
        (FieldKind::Attachment(o), FieldKind::Attachment(n)) => {
            bound(path, "max_files", as_f64(o.max_files), as_f64(n.max_files), true, changes);
            bound(path, "max_size", as_f64(o.max_size), as_f64(n.max_size), true, changes);
            if o.accept != n.accept {
                changes.push(change(
                    path.to_owned(),
                    ChangeKind::ConstraintTightened,
                    Compatibility::NeedsAttention,
                    Some("accept"),
                    Some(json!(o.accept)),
                    Some(json!(n.accept)),
                ));
            }
        }
        (FieldKind::Lot(o) | FieldKind::Barcode(o), FieldKind::Lot(n) | FieldKind::Barcode(n)) => {
            bound(path, "max_length", as_f64(o.max_length), as_f64(n.max_length), true, changes);
            if o.pattern != n.pattern && n.pattern.is_some() {
                changes.push(change(
                    path.to_owned(),
                    ChangeKind::ConstraintTightened,
                    Compatibility::NeedsAttention,
                    Some("pattern"),
                    o.pattern.as_ref().map(|p| json!(p)),
                    n.pattern.as_ref().map(|p| json!(p)),
                ));
            }
        }
        (FieldKind::Subtable(o), FieldKind::Subtable(n)) => {
            bound(path, "min_rows", as_f64(o.min_rows), as_f64(n.min_rows), false, changes);
            bound(path, "max_rows", as_f64(o.max_rows), as_f64(n.max_rows), true, changes);
            diff_fields(&o.fields, &n.fields, path, changes);
        }
        (FieldKind::Measurement(o), FieldKind::Measurement(n)) => {
            if o.lsl != n.lsl || o.usl != n.usl || o.nominal != n.nominal {
                // Judgements of stored values were made against the old limits.
                changes.push(change(
                    path.to_owned(),
                    ChangeKind::LimitsChanged,
                    Compatibility::NeedsAttention,
                    Some("limits"),
                    Some(json!({"nominal": o.nominal, "lsl": o.lsl, "usl": o.usl})),
                    Some(json!({"nominal": n.nominal, "lsl": n.lsl, "usl": n.usl})),
                ));
            }
            if o.samples != n.samples {
                changes.push(change(
                    path.to_owned(),
                    ChangeKind::ConstraintTightened,
                    Compatibility::NeedsAttention,
                    Some("samples"),
                    Some(json!(o.samples)),
                    Some(json!(n.samples)),
                ));
            }
            bound(path, "precision", o.precision.map(f64::from), n.precision.map(f64::from), true, changes);
        }
        (FieldKind::Computed(o), FieldKind::Computed(n)) if o.expr != n.expr => {
            changes.push(change(
                path.to_owned(),
                ChangeKind::RuleChanged,
                Compatibility::NeedsAttention,
                Some("expr"),
                Some(json!(o.expr)),
                Some(json!(n.expr)),
            ));
        }
        (FieldKind::AutoNumber(o), FieldKind::AutoNumber(n)) if o.pattern != n.pattern => {
            // Existing numbers are kept; only new records get the new pattern.
            changes.push(change(
                path.to_owned(),
                ChangeKind::PresentationChanged,
                Compatibility::Compatible,
                Some("pattern"),
                Some(json!(o.pattern)),
                Some(json!(n.pattern)),
            ));
        }
        (FieldKind::Relation(o), FieldKind::Relation(n)) if o.form != n.form => {
            changes.push(change(
                path.to_owned(),
                ChangeKind::ConstraintTightened,
                Compatibility::NeedsAttention,
                Some("form"),
                Some(json!(o.form)),
                Some(json!(n.form)),
            ));
        }
        _ => {}
    }
}

fn diff_options(old: &[super::SelectOption], new: &[super::SelectOption], path: &str, changes: &mut Vec<Change>) {
    for option in old {
        if !new.iter().any(|n| n.value == option.value) {
            changes.push(change(
                path.to_owned(),
                ChangeKind::OptionRemoved,
                Compatibility::NeedsAttention,
                Some("options"),
                Some(json!(option.value())),
                None,
            ));
        }
    }
    for option in new {
        if !old.iter().any(|o| o.value == option.value) {
            changes.push(change(
                path.to_owned(),
                ChangeKind::OptionAdded,
                Compatibility::Compatible,
                Some("options"),
                None,
                Some(json!(option.value())),
            ));
        }
    }
}
