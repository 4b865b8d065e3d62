//! Structural checks of a parsed definition: keys, nesting, limits, options, patterns and
//! defaults. Rules are checked when they are compiled (see `compile.rs`).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::auto_number::AutoNumberPattern;
use super::issue::{Code, Issue};
use super::parse::pointer;
use super::schema::{Flavour, anchored, field_schema, number};
use super::{Field, FieldKind, FormDefinition, SelectOption};
use crate::rules::is_reserved;

/// Where an item sits, for nesting rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    Form,
    Subtable,
}

/// Checks everything but rules, returning every issue found.
pub fn check_definition(definition: &FormDefinition) -> Vec<Issue> {
    let mut issues = Vec::new();
    if !is_key(&definition.key) {
        issues.push(Issue::new("/key", Code::MalformedKey).param("key", definition.key.as_str()));
    }
    let mut namespace = HashMap::new();
    check_items(&definition.fields, "/fields", Container::Form, &mut namespace, &mut issues);
    issues
}

/// A valid key: a lowercase letter, then lowercase letters, digits and `_`; at most 64.
pub fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Visits every item with its definition path, looking through layout items and columns.
pub fn walk_items<'a>(fields: &'a [Field], path: &str, visit: &mut dyn FnMut(&'a Field, &str)) {
    for (index, field) in fields.iter().enumerate() {
        let field_path = format!("{path}/{index}");
        visit(field, &field_path);
        match &field.kind {
            FieldKind::Section(spec) => walk_items(&spec.fields, &pointer(&field_path, "fields"), visit),
            FieldKind::Columns(spec) => {
                for (column_index, column) in spec.columns.iter().enumerate() {
                    walk_items(&column.fields, &format!("{field_path}/columns/{column_index}/fields"), visit);
                }
            }
            _ => {}
        }
    }
}

fn check_items(
    fields: &[Field],
    path: &str,
    container: Container,
    namespace: &mut HashMap<String, String>,
    issues: &mut Vec<Issue>,
) {
    let mut items = Vec::new();
    walk_items(fields, path, &mut |field, field_path| items.push((field, field_path.to_owned())));
    for (field, field_path) in items {
        check_key(field, &field_path, namespace, issues);
        check_placement(field, &field_path, container, issues);
        check_field(field, &field_path, issues);
        if let FieldKind::Subtable(spec) = &field.kind {
            let mut row_namespace = HashMap::new();
            check_items(&spec.fields, &pointer(&field_path, "fields"), Container::Subtable, &mut row_namespace, issues);
        }
    }
}

fn check_key(field: &Field, path: &str, namespace: &mut HashMap<String, String>, issues: &mut Vec<Issue>) {
    let key_path = pointer(path, "key");
    if !is_key(&field.key) {
        issues.push(Issue::new(key_path, Code::MalformedKey).param("key", field.key.as_str()));
    } else if is_reserved(&field.key) {
        issues.push(Issue::new(key_path, Code::ReservedKey).param("key", field.key.as_str()));
    } else if let Some(first) = namespace.get(&field.key) {
        issues.push(
            Issue::new(key_path, Code::DuplicateKey).param("key", field.key.as_str()).param("first", first.as_str()),
        );
    } else {
        namespace.insert(field.key.clone(), path.to_owned());
    }
}

fn check_placement(field: &Field, path: &str, container: Container, issues: &mut Vec<Issue>) {
    let type_name = field.kind.type_name();
    let not_in_rows = matches!(
        field.kind,
        FieldKind::Subtable(_) | FieldKind::AutoNumber(_) | FieldKind::Section(_) | FieldKind::Columns(_)
    );
    if container == Container::Subtable && not_in_rows {
        issues.push(Issue::new(path, Code::NotAllowedHere).param("type", type_name).param("parent", "subtable"));
    }
    // Access is decided per record field; a row's cells travel with their subtable.
    if container == Container::Subtable && field.common.access.is_some() {
        issues.push(Issue::new(pointer(path, "access"), Code::TopLevelOnly).param("property", "access"));
    }
    let common = &field.common;
    let layout = field.kind.is_layout();
    let server_owned = field.kind.is_server_owned();
    let scalar = !matches!(
        field.kind,
        FieldKind::Subtable(_)
            | FieldKind::Attachment(_)
            | FieldKind::Signature(_)
            | FieldKind::Measurement(_)
            | FieldKind::Multiselect(_)
            | FieldKind::Boolean(_)
    );
    let inapplicable = [
        ("required", common.required && (layout || server_owned)),
        ("required_if", common.required_if.is_some() && (layout || server_owned)),
        ("default", common.default.is_some() && (layout || server_owned)),
        ("read_only", common.read_only && (layout || server_owned)),
        ("unique", common.unique && (layout || !scalar)),
        ("access", common.access.is_some() && layout),
    ];
    for (property, bad) in inapplicable {
        if bad {
            issues.push(
                Issue::new(pointer(path, property), Code::NotApplicable)
                    .param("property", property)
                    .param("type", type_name),
            );
        }
    }
}

fn check_field(field: &Field, path: &str, issues: &mut Vec<Issue>) {
    match &field.kind {
        FieldKind::Text(spec) | FieldKind::Textarea(spec) => {
            check_range(
                path,
                "min_length",
                spec.min_length.map(|v| v as f64),
                spec.max_length.map(|v| v as f64),
                issues,
            );
            check_pattern(path, spec.pattern.as_deref(), issues);
        }
        FieldKind::Number(spec) => check_range(path, "min", spec.min, spec.max, issues),
        FieldKind::Select(spec) => check_options(path, &spec.options, issues),
        FieldKind::Multiselect(spec) => {
            check_options(path, &spec.options, issues);
            check_range(path, "min_items", spec.min_items.map(|v| v as f64), spec.max_items.map(|v| v as f64), issues);
        }
        FieldKind::Relation(spec) if !is_key(&spec.form) => {
            issues.push(Issue::new(pointer(path, "form"), Code::MalformedKey).param("key", spec.form.as_str()));
        }
        FieldKind::Lot(spec) => check_pattern(path, spec.pattern.as_deref(), issues),
        FieldKind::Barcode(spec) => {
            check_pattern(path, spec.pattern.as_deref(), issues);
            // Traceability links lots; a barcode is any scanned code.
            if spec.trace.is_some() {
                issues.push(
                    Issue::new(format!("{path}/trace"), Code::NotApplicable)
                        .param("property", "trace")
                        .param("type", "barcode"),
                );
            }
        }
        FieldKind::Subtable(spec) => {
            check_range(path, "min_rows", spec.min_rows.map(|v| v as f64), spec.max_rows.map(|v| v as f64), issues);
            if spec.fields.is_empty() {
                issues.push(Issue::new(pointer(path, "fields"), Code::EmptyContainer).param("type", "subtable"));
            }
        }
        FieldKind::Measurement(spec) => {
            if let (Some(lsl), Some(usl)) = (spec.lsl, spec.usl)
                && lsl > usl
            {
                issues.push(
                    Issue::new(pointer(path, "lsl"), Code::LslGreaterThanUsl)
                        .param("lsl", number(lsl))
                        .param("usl", number(usl)),
                );
            }
            if let Some(nominal) = spec.nominal
                && (spec.lsl.is_some_and(|lsl| nominal < lsl) || spec.usl.is_some_and(|usl| nominal > usl))
            {
                issues.push(
                    Issue::new(pointer(path, "nominal"), Code::NominalOutsideLimits).param("nominal", number(nominal)),
                );
            }
            if spec.samples == Some(super::Samples::Fixed(0)) {
                issues.push(
                    Issue::new(pointer(path, "samples"), Code::InvalidDefinition)
                        .param("detail", "a measurement takes at least one sample"),
                );
            }
        }
        FieldKind::AutoNumber(spec) => {
            if let Err(detail) = AutoNumberPattern::parse(&spec.pattern) {
                issues.push(Issue::new(pointer(path, "pattern"), Code::InvalidPattern).param("detail", detail));
            }
        }
        FieldKind::Columns(spec) if spec.columns.is_empty() => {
            issues.push(Issue::new(pointer(path, "columns"), Code::EmptyContainer).param("type", "columns"));
        }
        _ => {}
    }
    if let Some(default) = &field.common.default {
        check_default(field, path, default, issues);
    }
}

fn check_range(path: &str, min_name: &str, min: Option<f64>, max: Option<f64>, issues: &mut Vec<Issue>) {
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        issues.push(
            Issue::new(pointer(path, min_name), Code::MinGreaterThanMax)
                .param("min", number(min))
                .param("max", number(max)),
        );
    }
}

fn check_options(path: &str, options: &[SelectOption], issues: &mut Vec<Issue>) {
    if options.is_empty() {
        issues.push(Issue::new(pointer(path, "options"), Code::EmptyContainer).param("type", "select"));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, option) in options.iter().enumerate() {
        let option_path = format!("{path}/options/{index}");
        match option.value.as_deref() {
            None | Some("") => issues.push(Issue::new(option_path, Code::OptionWithoutValue)),
            Some(value) => {
                if seen.insert(value, index).is_some() {
                    issues.push(
                        Issue::new(pointer(&option_path, "value"), Code::DuplicateOptionValue).param("value", value),
                    );
                }
            }
        }
    }
}

fn check_pattern(path: &str, pattern: Option<&str>, issues: &mut Vec<Issue>) {
    let Some(pattern) = pattern else { return };
    // The validator compiles patterns with the same regex engine that will run them.
    if let Err(error) = jsonschema::options().build(&json!({"pattern": anchored(pattern)})) {
        issues.push(Issue::new(pointer(path, "pattern"), Code::InvalidPattern).param("detail", error.to_string()));
    }
}

fn check_default(field: &Field, path: &str, default: &Value, issues: &mut Vec<Issue>) {
    if field.kind.is_layout() || field.kind.is_server_owned() {
        return; // Reported as not applicable.
    }
    // A measurement's default is stored as given when it is not judged (no limits or no
    // values), so its judgements are checked too, which the processing schema leaves to the
    // engine.
    let flavour = if matches!(field.kind, FieldKind::Measurement(_)) { Flavour::Public } else { Flavour::Validation };
    let schema = field_schema(field, flavour);
    let Ok(validator) = jsonschema::options().should_validate_formats(true).build(&schema) else {
        return; // A broken pattern is reported by check_pattern.
    };
    if let Some(error) = validator.iter_errors(default).next() {
        issues.push(Issue::new(pointer(path, "default"), Code::InvalidDefault).param("detail", error.to_string()));
    }
}
