//! Compiling a definition to JSON Schema draft 2020-12.
//!
//! Two flavours come from the same code. The public schema (served as `schema.json`) lists
//! statically required fields, marks computed values read-only and carries labels. The
//! validation schema leaves out `required`: whether a field is required can depend on
//! `visible_if`/`required_if`, and an empty text counts as missing, so the form engine checks
//! presence itself and reports it once.

use serde_json::{Map, Value, json};

use super::model::{CodeSpec, DEFAULT_CODE_MAX_LENGTH};
use super::{Field, FieldKind, FormDefinition, data_fields};
use crate::i18n::I18nText;

pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Public,
    Validation,
}

/// The JSON Schema of records of `definition`.
pub fn record_schema(definition: &FormDefinition, flavour: Flavour) -> Value {
    let schema = object_schema(&definition.fields, flavour);
    if flavour == Flavour::Validation {
        return schema;
    }
    // Keys keep insertion order: `$schema` and the titles first, then the body.
    let mut public = Map::new();
    public.insert("$schema".to_owned(), json!(DRAFT_2020_12));
    annotate(&mut public, &definition.name, definition.description.as_ref());
    public.insert("x-formwork-form".to_owned(), json!(definition.key));
    if let Value::Object(body) = schema {
        public.extend(body);
    }
    Value::Object(public)
}

fn object_schema(fields: &[Field], flavour: Flavour) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (field, layout) in data_fields(fields) {
        properties.insert(field.key.clone(), field_schema(field, flavour));
        let conditional = field.common.visible_if.is_some() || layout.iter().any(|l| l.common.visible_if.is_some());
        if field.common.required && !conditional && !field.kind.is_server_owned() {
            required.push(Value::String(field.key.clone()));
        }
    }
    let mut schema = Map::new();
    schema.insert("type".to_owned(), json!("object"));
    schema.insert("properties".to_owned(), Value::Object(properties));
    if flavour == Flavour::Public && !required.is_empty() {
        schema.insert("required".to_owned(), Value::Array(required));
    }
    schema.insert("additionalProperties".to_owned(), json!(false));
    Value::Object(schema)
}

/// The schema of one data field's value.
pub fn field_schema(field: &Field, flavour: Flavour) -> Value {
    let mut schema = match &field.kind {
        FieldKind::Text(spec) | FieldKind::Textarea(spec) => {
            let mut s = json!({"type": "string"});
            insert_opt(&mut s, "minLength", spec.min_length);
            insert_opt(&mut s, "maxLength", spec.max_length);
            insert_opt(&mut s, "pattern", spec.pattern.as_deref().map(anchored));
            s
        }
        FieldKind::Number(spec) => {
            let mut s = json!({"type": if spec.integer { "integer" } else { "number" }});
            insert_opt(&mut s, "minimum", spec.min.map(number));
            insert_opt(&mut s, "maximum", spec.max.map(number));
            s
        }
        FieldKind::Select(spec) => {
            json!({"type": "string", "enum": spec.options.iter().map(|o| o.value()).collect::<Vec<_>>()})
        }
        FieldKind::Multiselect(spec) => {
            let values: Vec<&str> = spec.options.iter().map(|o| o.value()).collect();
            let mut s = json!({"type": "array", "items": {"type": "string", "enum": values}, "uniqueItems": true});
            insert_opt(&mut s, "minItems", spec.min_items);
            insert_opt(&mut s, "maxItems", spec.max_items);
            s
        }
        FieldKind::Boolean(_) => json!({"type": "boolean"}),
        FieldKind::Date(_) => json!({"type": "string", "format": "date"}),
        FieldKind::Datetime(_) => json!({"type": "string", "format": "date-time"}),
        FieldKind::User(_) => json!({"type": "string", "minLength": 1, "maxLength": 128}),
        FieldKind::Relation(spec) => {
            let mut s = json!({"type": "string", "minLength": 1, "maxLength": 128});
            if flavour == Flavour::Public {
                s["x-formwork-relation"] = json!(spec.form);
            }
            s
        }
        FieldKind::Lot(spec) | FieldKind::Barcode(spec) => code_schema(spec),
        FieldKind::Attachment(spec) => {
            let mut size = json!({"type": "integer", "minimum": 0});
            insert_opt(&mut size, "maximum", spec.max_size);
            let mut s = json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "minLength": 1},
                        "name": {"type": "string", "minLength": 1},
                        "size": size,
                        "content_type": {"type": "string"}
                    },
                    "required": ["id", "name"],
                    "additionalProperties": false
                }
            });
            insert_opt(&mut s, "maxItems", spec.max_files);
            s
        }
        FieldKind::Signature(_) => json!({
            "type": "object",
            "properties": {
                "image": {"type": "string", "minLength": 1},
                "signer": {"type": "string"},
                "signed_at": {"type": "string", "format": "date-time"}
            },
            "required": ["image"],
            "additionalProperties": false
        }),
        FieldKind::Subtable(spec) => {
            let mut s = json!({"type": "array", "items": object_schema(&spec.fields, flavour)});
            insert_opt(&mut s, "minItems", spec.min_rows);
            insert_opt(&mut s, "maxItems", spec.max_rows);
            s
        }
        FieldKind::Measurement(_) => {
            // The engine drops what a client sends as judgements and writes its own (stored
            // values it keeps were written by it, defaults are checked with the public
            // schema), so the schema it validates processed records with need not check them.
            let (judgements, result) = match flavour {
                Flavour::Public => (
                    json!({"type": "array", "items": {"enum": ["ok", "ng"]}, "readOnly": true}),
                    json!({"enum": ["ok", "ng"], "readOnly": true}),
                ),
                Flavour::Validation => (json!(true), json!(true)),
            };
            json!({
                "type": "object",
                "properties": {
                    "values": {"type": "array", "items": {"type": "number"}},
                    "judgements": judgements,
                    "result": result
                },
                "required": ["values"],
                "additionalProperties": false
            })
        }
        FieldKind::Computed(_) => json!({"readOnly": true}),
        FieldKind::AutoNumber(_) => json!({"type": "string", "readOnly": true}),
        FieldKind::Section(_) | FieldKind::Columns(_) => json!({}),
    };
    if flavour == Flavour::Public {
        let object = schema.as_object_mut().expect("field schema is an object");
        annotate(object, &field.common.label, field.common.help.as_ref());
        object.insert("x-formwork-type".to_owned(), json!(field.kind.type_name()));
        if let Some(default) = &field.common.default {
            object.insert("default".to_owned(), default.clone());
        }
        if field.common.read_only {
            object.insert("readOnly".to_owned(), json!(true));
        }
        match &field.kind {
            FieldKind::Number(spec) => {
                insert_opt_map(object, "x-formwork-unit", spec.unit.clone());
                insert_opt_map(object, "x-formwork-precision", spec.precision);
            }
            FieldKind::Measurement(spec) => {
                insert_opt_map(object, "x-formwork-nominal", spec.nominal);
                insert_opt_map(object, "x-formwork-lsl", spec.lsl);
                insert_opt_map(object, "x-formwork-usl", spec.usl);
                insert_opt_map(object, "x-formwork-unit", spec.unit.clone());
            }
            FieldKind::Computed(spec) => {
                object.insert("x-formwork-expr".to_owned(), json!(spec.expr));
            }
            FieldKind::AutoNumber(spec) => {
                object.insert("x-formwork-pattern".to_owned(), json!(spec.pattern));
            }
            _ => {}
        }
        insert_opt_map(object, "x-formwork-visible-if", field.common.visible_if.clone());
        insert_opt_map(object, "x-formwork-required-if", field.common.required_if.clone());
    }
    schema
}

fn code_schema(spec: &CodeSpec) -> Value {
    let mut s = json!({
        "type": "string",
        "minLength": 1,
        "maxLength": spec.max_length.unwrap_or(DEFAULT_CODE_MAX_LENGTH)
    });
    insert_opt(&mut s, "pattern", spec.pattern.as_deref().map(anchored));
    s
}

/// A number as JSON, written without a fraction when it has none (so messages say `1`, not
/// `1.0`).
pub fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

/// JSON Schema patterns match anywhere in the text; a designer's pattern means the whole value.
pub fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

fn annotate(object: &mut Map<String, Value>, label: &I18nText, help: Option<&I18nText>) {
    if let Some(title) = label.en.as_ref().or(label.zh_cn.as_ref()) {
        object.insert("title".to_owned(), json!(title));
    }
    if !label.is_empty() {
        object.insert("x-formwork-label".to_owned(), json!(label));
    }
    if let Some(help) = help {
        if let Some(description) = help.en.as_ref().or(help.zh_cn.as_ref()) {
            object.insert("description".to_owned(), json!(description));
        }
        object.insert("x-formwork-help".to_owned(), json!(help));
    }
}

fn insert_opt<T: Into<Value>>(schema: &mut Value, name: &str, value: Option<T>) {
    if let (Some(object), Some(value)) = (schema.as_object_mut(), value) {
        object.insert(name.to_owned(), value.into());
    }
}

fn insert_opt_map<T: Into<Value>>(object: &mut Map<String, Value>, name: &str, value: Option<T>) {
    if let Some(value) = value {
        object.insert(name.to_owned(), value.into());
    }
}
