//! Reading a definition from JSON, reporting every shape problem with its JSON pointer.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Field;
use super::issue::{Code, Issue};
use super::model::{Column, FIELD_TYPES, FieldCommon, FieldKind, FormDefinition};
use crate::i18n::I18nText;

const FORM_KEYS: &[&str] = &["key", "name", "description", "fields"];
const COMMON_KEYS: &[&str] =
    &["label", "help", "required", "read_only", "unique", "default", "visible_if", "required_if", "access"];

/// Parses a definition. On failure, lists every problem found (not only the first).
pub fn parse_definition(value: &Value) -> Result<FormDefinition, Vec<Issue>> {
    let partial = parse_partial(value);
    match partial.definition {
        Some(definition) if partial.issues.is_empty() => Ok(definition),
        _ => Err(partial.issues),
    }
}

/// What could be read of a definition, and the issues. An item that did not parse stands
/// in as a plain text field with its key, so that the other items keep their paths and
/// rules that read it are not blamed a second time.
pub(super) struct Partial {
    pub definition: Option<FormDefinition>,
    pub issues: Vec<Issue>,
}

pub(super) fn parse_partial(value: &Value) -> Partial {
    let mut issues = Vec::new();
    let Some(object) = value.as_object() else {
        let issues = vec![shape("", "a form definition must be a JSON object")];
        return Partial { definition: None, issues };
    };
    for name in object.keys() {
        if !FORM_KEYS.contains(&name.as_str()) {
            issues.push(shape(&pointer("", name), format!("unknown property “{name}”")));
        }
    }
    let key = match object.get("key") {
        Some(Value::String(key)) => key.clone(),
        _ => {
            issues.push(shape("/key", "“key” must be a text"));
            String::new()
        }
    };
    let name: I18nText = read(object.get("name"), "/name", &mut issues).unwrap_or_default();
    let description: Option<I18nText> = read(object.get("description"), "/description", &mut issues).flatten();
    let fields = match object.get("fields") {
        Some(Value::Array(items)) => parse_fields(items, "/fields", &mut issues),
        _ => {
            issues.push(shape("/fields", "“fields” must be a list"));
            Vec::new()
        }
    };
    Partial { definition: Some(FormDefinition { key, name, description, fields }), issues }
}

fn parse_fields(items: &[Value], path: &str, issues: &mut Vec<Issue>) -> Vec<Field> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let item_path = format!("{path}/{index}");
            parse_field(item, &item_path, issues).unwrap_or_else(|| placeholder(item, &item_path))
        })
        .collect()
}

fn placeholder(item: &Value, path: &str) -> Field {
    let key = match item.get("key") {
        Some(Value::String(key)) => key.clone(),
        _ => format!("unparsed{}", path.replace('/', "_")),
    };
    Field { key, common: FieldCommon::default(), kind: FieldKind::Text(Default::default()) }
}

fn parse_field(value: &Value, path: &str, issues: &mut Vec<Issue>) -> Option<Field> {
    let Some(object) = value.as_object() else {
        issues.push(shape(path, "a field must be a JSON object"));
        return None;
    };
    let type_name = match object.get("type") {
        Some(Value::String(type_name)) if FIELD_TYPES.contains(&type_name.as_str()) => type_name.as_str(),
        Some(Value::String(type_name)) => {
            issues.push(Issue::new(pointer(path, "type"), Code::UnknownFieldType).param("type", type_name.as_str()));
            return None;
        }
        _ => {
            issues.push(shape(&pointer(path, "type"), "“type” must be a text"));
            return None;
        }
    };
    let key = match object.get("key") {
        Some(Value::String(key)) => key.clone(),
        _ => {
            issues.push(shape(&pointer(path, "key"), "“key” must be a text"));
            String::new()
        }
    };
    let children_key = match type_name {
        "subtable" | "section" => Some("fields"),
        "columns" => Some("columns"),
        _ => None,
    };
    let mut common = Map::new();
    let mut specific = Map::new();
    specific.insert("type".to_owned(), Value::String(type_name.to_owned()));
    for (name, value) in object {
        if name == "type" || name == "key" || Some(name.as_str()) == children_key {
            continue;
        }
        if COMMON_KEYS.contains(&name.as_str()) {
            common.insert(name.clone(), value.clone());
        } else {
            specific.insert(name.clone(), value.clone());
        }
    }
    let before = issues.len();
    let common: Option<FieldCommon> = read(Some(&Value::Object(common)), path, issues);
    let kind: Option<FieldKind> = read(Some(&Value::Object(specific)), path, issues);
    let (Some(common), Some(mut kind)) = (common, kind) else { return None };
    if let Some(children_key) = children_key {
        let children_path = pointer(path, children_key);
        match (object.get(children_key), &mut kind) {
            (Some(Value::Array(items)), FieldKind::Subtable(spec)) => {
                spec.fields = parse_fields(items, &children_path, issues)
            }
            (Some(Value::Array(items)), FieldKind::Section(spec)) => {
                spec.fields = parse_fields(items, &children_path, issues)
            }
            (Some(Value::Array(items)), FieldKind::Columns(spec)) => {
                spec.columns = items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, column)| parse_column(column, &format!("{children_path}/{index}"), issues))
                    .collect();
            }
            (None, _) => issues.push(shape(&children_path, format!("a {type_name} needs “{children_key}”"))),
            _ => issues.push(shape(&children_path, format!("“{children_key}” must be a list"))),
        }
    }
    (issues.len() == before).then_some(Field { key, common, kind })
}

fn parse_column(value: &Value, path: &str, issues: &mut Vec<Issue>) -> Option<Column> {
    let Some(object) = value.as_object() else {
        issues.push(shape(path, "a column must be a JSON object"));
        return None;
    };
    let mut column = Column::default();
    for (name, value) in object {
        match (name.as_str(), value) {
            ("fields", Value::Array(items)) => column.fields = parse_fields(items, &pointer(path, "fields"), issues),
            ("width", Value::Number(width)) if width.as_u64().is_some_and(|w| (1..=12).contains(&w)) => {
                column.width = width.as_u64().map(|w| w as u32);
            }
            ("fields", _) => issues.push(shape(&pointer(path, name), "“fields” must be a list")),
            ("width", _) => issues.push(shape(&pointer(path, name), "“width” must be a whole number from 1 to 12")),
            _ => issues.push(shape(&pointer(path, name), format!("unknown property “{name}”"))),
        }
    }
    Some(column)
}

fn read<T: DeserializeOwned>(value: Option<&Value>, path: &str, issues: &mut Vec<Issue>) -> Option<T> {
    let value = value.cloned().unwrap_or(Value::Null);
    match serde_json::from_value(value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            issues.push(shape(path, error.to_string()));
            None
        }
    }
}

fn shape(path: &str, detail: impl Into<String>) -> Issue {
    Issue::new(path, Code::InvalidDefinition).param("detail", detail.into())
}

/// Appends one reference token to a JSON pointer, escaping `~` and `/`.
pub fn pointer(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    // Keys rarely hold the two characters that need escaping.
    if !token.bytes().any(|byte| byte == b'~' || byte == b'/') {
        out.push_str(token);
        return out;
    }
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}
