//! JSON Schema errors turned into our issues, using the field found at each error's path.

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::FieldKind;
use super::compile::{Level, Slot};
use super::issue::{Code, Issue};
use super::parse::pointer;

/// Turns one JSON Schema error into our issue, using the field found at its path.
pub(super) fn map_schema_error(
    root: &Level,
    path: &str,
    kind: &ValidationErrorKind,
    instance: &Value,
    issues: &mut Vec<Issue>,
) {
    let (slot, rest) = locate(root, path);
    let type_name = slot.map_or("", |s| s.field.kind.type_name());
    let issue = |code| Issue::new(path, code);
    let issue = match kind {
        ValidationErrorKind::Type { .. } => match slot.map(|s| &s.field.kind) {
            Some(FieldKind::Number(spec)) if rest.is_empty() && spec.integer && instance.is_number() => {
                issue(Code::NotInteger)
            }
            Some(FieldKind::Number(spec)) if rest.is_empty() && spec.integer => {
                issue(Code::WrongType).param("expected", "integer")
            }
            Some(FieldKind::Measurement(_)) if rest.len() == 2 => issue(Code::WrongType).param("expected", "number"),
            Some(FieldKind::Subtable(_)) if rest.len() == 1 => issue(Code::WrongType).param("expected", "row"),
            Some(_) if rest.is_empty() => issue(Code::WrongType).param("expected", type_name),
            _ => issue(Code::InvalidValue),
        },
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            issue(Code::BelowMin).param("min", limit.clone())
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
            if type_name == "attachment" {
                issue(Code::FileTooLarge).param("max_size", limit.clone())
            } else {
                issue(Code::AboveMax).param("max", limit.clone())
            }
        }
        ValidationErrorKind::MinLength { limit } => issue(Code::TooShort).param("min_length", *limit),
        ValidationErrorKind::MaxLength { limit } => issue(Code::TooLong).param("max_length", *limit),
        ValidationErrorKind::Pattern { .. } => {
            let pattern = match slot.map(|s| &s.field.kind) {
                Some(FieldKind::Text(spec) | FieldKind::Textarea(spec)) => spec.pattern.clone(),
                Some(FieldKind::Lot(spec) | FieldKind::Barcode(spec)) => spec.pattern.clone(),
                _ => None,
            };
            issue(Code::PatternMismatch).param("pattern", pattern.unwrap_or_default())
        }
        ValidationErrorKind::Enum { .. } => {
            let value = instance.as_str().map_or_else(|| instance.to_string(), str::to_owned);
            issue(Code::InvalidOption).param("value", value)
        }
        ValidationErrorKind::UniqueItems => issue(Code::DuplicateOption),
        ValidationErrorKind::MinItems { limit } => match type_name {
            "subtable" => issue(Code::TooFewRows).param("min_rows", *limit),
            "multiselect" => issue(Code::TooFewItems).param("min_items", *limit),
            _ => issue(Code::InvalidValue),
        },
        ValidationErrorKind::MaxItems { limit } => match type_name {
            "subtable" => issue(Code::TooManyRows).param("max_rows", *limit),
            "multiselect" => issue(Code::TooManyItems).param("max_items", *limit),
            "attachment" => issue(Code::TooManyFiles).param("max_files", *limit),
            _ => issue(Code::InvalidValue),
        },
        ValidationErrorKind::Format { format } if format == "date" => issue(Code::InvalidDate),
        ValidationErrorKind::Format { format } if format == "date-time" => issue(Code::InvalidDatetime),
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            Issue::new(pointer(path, property), Code::Required)
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for property in unexpected {
                issues.push(Issue::new(pointer(path, property), Code::UnknownField).param("field", property.as_str()));
            }
            return;
        }
        _ => issue(Code::InvalidValue),
    };
    issues.push(issue);
}

/// Finds the deepest field at a record path and the path tokens below it.
fn locate<'a>(root: &'a Level, path: &str) -> (Option<&'a Slot>, Vec<String>) {
    let tokens: Vec<String> = path.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
    let mut level = root;
    let mut found = None;
    let mut position = 0;
    while position < tokens.len() {
        let Some(&index) = level.index.get(&tokens[position]) else { break };
        let slot = &level.slots[index];
        found = Some(slot);
        position += 1;
        match &slot.rows {
            // A row index then a row field.
            Some(rows) if position + 1 < tokens.len() && rows.index.contains_key(&tokens[position + 1]) => {
                level = rows;
                position += 1;
            }
            _ => break,
        }
    }
    (found, tokens[position.min(tokens.len())..].to_vec())
}
