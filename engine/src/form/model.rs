//! The form definition: the designer's format (DESIGN §4, §13).
//!
//! Definitions are read with [`super::parse_definition`], which reports every shape problem
//! with its JSON pointer; the serde derives below describe the shape of one field's own
//! properties. Child fields (of sections, columns and subtables) are parsed by that function
//! too, so the specs skip them on deserialization.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::i18n::I18nText;

/// A form definition: an ordered tree of fields and layout items.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FormDefinition {
    pub key: String,
    pub name: I18nText,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<I18nText>,
    pub fields: Vec<Field>,
}

/// One item of a form: a data field or a layout item (section, columns).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    pub key: String,
    #[serde(flatten)]
    pub common: FieldCommon,
    #[serde(flatten)]
    pub kind: FieldKind,
}

/// Properties every item has.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldCommon {
    #[serde(default, skip_serializing_if = "I18nText::is_empty")]
    pub label: I18nText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<I18nText>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// Within a subtable: no two rows may hold the same value. At the top level: the server
    /// keeps the value unique across the form's records.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// A rule: the field is shown (and kept) only while it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<String>,
    /// A rule: the field is required while it is true (and it is visible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<String>,
    /// Which workspace roles may read and edit the field (top-level fields only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<super::access::FieldAccess>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The type of an item with its type-specific properties, written as `"type": "..."`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text(TextSpec),
    Textarea(TextSpec),
    Number(NumberSpec),
    Select(SelectSpec),
    Multiselect(MultiselectSpec),
    Boolean(EmptySpec),
    Date(EmptySpec),
    Datetime(EmptySpec),
    User(EmptySpec),
    Relation(RelationSpec),
    Lot(CodeSpec),
    Barcode(CodeSpec),
    Attachment(AttachmentSpec),
    Signature(EmptySpec),
    Subtable(SubtableSpec),
    Measurement(MeasurementSpec),
    Computed(ComputedSpec),
    AutoNumber(AutoNumberSpec),
    Section(SectionSpec),
    Columns(ColumnsSpec),
}

/// Every type name, as written in definitions.
pub const FIELD_TYPES: &[&str] = &[
    "text",
    "textarea",
    "number",
    "select",
    "multiselect",
    "boolean",
    "date",
    "datetime",
    "user",
    "relation",
    "lot",
    "barcode",
    "attachment",
    "signature",
    "subtable",
    "measurement",
    "computed",
    "auto_number",
    "section",
    "columns",
];

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text(_) => "text",
            FieldKind::Textarea(_) => "textarea",
            FieldKind::Number(_) => "number",
            FieldKind::Select(_) => "select",
            FieldKind::Multiselect(_) => "multiselect",
            FieldKind::Boolean(_) => "boolean",
            FieldKind::Date(_) => "date",
            FieldKind::Datetime(_) => "datetime",
            FieldKind::User(_) => "user",
            FieldKind::Relation(_) => "relation",
            FieldKind::Lot(_) => "lot",
            FieldKind::Barcode(_) => "barcode",
            FieldKind::Attachment(_) => "attachment",
            FieldKind::Signature(_) => "signature",
            FieldKind::Subtable(_) => "subtable",
            FieldKind::Measurement(_) => "measurement",
            FieldKind::Computed(_) => "computed",
            FieldKind::AutoNumber(_) => "auto_number",
            FieldKind::Section(_) => "section",
            FieldKind::Columns(_) => "columns",
        }
    }

    /// Layout items hold no data; their children belong to the enclosing record or row.
    pub fn is_layout(&self) -> bool {
        matches!(self, FieldKind::Section(_) | FieldKind::Columns(_))
    }

    /// Values the server computes; whatever a client sends for them is replaced.
    pub fn is_server_owned(&self) -> bool {
        matches!(self, FieldKind::Computed(_) | FieldKind::AutoNumber(_))
    }

    /// The items nested directly in this one (for columns, every column's fields in order).
    pub fn children(&self) -> Vec<&Field> {
        match self {
            FieldKind::Subtable(spec) => spec.fields.iter().collect(),
            FieldKind::Section(spec) => spec.fields.iter().collect(),
            FieldKind::Columns(spec) => spec.columns.iter().flat_map(|c| c.fields.iter()).collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptySpec {}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// A regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<I18nText>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberSpec {
    /// Whole numbers only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub integer: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Decimal places allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectOption {
    /// The stored value. Optional here only so that a missing one is reported precisely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "I18nText::is_empty")]
    pub label: I18nText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl SelectOption {
    pub fn value(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectSpec {
    pub options: Vec<SelectOption>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiselectSpec {
    pub options: Vec<SelectOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationSpec {
    /// The key of the form whose records this field points to.
    pub form: String,
    /// The target form's field shown as the related record's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_field: Option<String>,
}

/// Lot and barcode fields: scanned codes. Values are trimmed (scanners append line breaks).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Lot fields only: how the record relates to the lot, for traceability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<LotRole>,
}

/// How a record relates to a lot it names (DESIGN §9): it brings the lot into being (a
/// receipt, a production order's output), uses it up (a production order's inputs, a
/// shipment), or documents it (an inspection, an NCR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotRole {
    Produces,
    Consumes,
    Refers,
}

impl LotRole {
    pub fn as_str(self) -> &'static str {
        match self {
            LotRole::Produces => "produces",
            LotRole::Consumes => "consumes",
            LotRole::Refers => "refers",
        }
    }
}

/// The longest lot or barcode value accepted when the definition sets no limit.
pub const DEFAULT_CODE_MAX_LENGTH: u64 = 128;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSpec {
    /// Accepted media types (`image/*`, `application/pdf`) or file name endings (`.pdf`);
    /// empty accepts everything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u64>,
    /// Bytes per file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtableSpec {
    #[serde(skip_deserializing)]
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
}

/// How many sampled values a measurement takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Samples {
    Fixed(u64),
    /// A rule giving the count, e.g. `plan.n` or `if lot_size < 50 { 3 } else { 5 }`.
    Expr(String),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasurementSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nominal: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lsl: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usl: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Samples>,
    /// Decimal places of each value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputedSpec {
    pub expr: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoNumberSpec {
    /// E.g. `NCR-{yyyy}-{seq:4}`; see [`super::auto_number`].
    pub pattern: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    #[serde(skip_deserializing)]
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub collapsed: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsSpec {
    #[serde(skip_deserializing)]
    pub columns: Vec<Column>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Column {
    /// Relative width (flex grow); 1 when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    pub fields: Vec<Field>,
}
