//! The form engine (DESIGN §4): definitions, their compilation to JSON Schema and rules, record
//! validation and computation, and schema evolution.
//!
//! The flow is `parse_definition` -> [`CompiledForm::compile`] -> [`CompiledForm::process`].
//! A compiled form is immutable and meant to be cached per published form version.

mod access;
pub mod auto_number;
mod check;
mod compile;
mod evolution;
mod issue;
mod model;
mod parse;
mod process;
mod schema;
mod schema_errors;
mod trace;
mod tracked;
mod values;

pub use access::{FieldAccess, FieldMask, not_unique};
pub use auto_number::{AutoNumberPattern, Date};
pub use compile::CompiledForm;
pub use evolution::{Change, ChangeKind, Compatibility, EvolutionReport, StoredValueProblem, compare};
pub use issue::{Code, Issue, localize, type_label};
pub use model::*;
pub use parse::{parse_definition, pointer};
pub use process::{Outcome, RecordContext};
pub use schema::{DRAFT_2020_12, Flavour, number as number_json, record_schema};
pub use trace::LotLink;

/// The data fields of a list of items, looking through layout items (whose children belong
/// to the same record or row), each with the layout items that enclose it.
pub fn data_fields(fields: &[Field]) -> Vec<(&Field, Vec<&Field>)> {
    fn walk<'a>(fields: &'a [Field], layout: &mut Vec<&'a Field>, out: &mut Vec<(&'a Field, Vec<&'a Field>)>) {
        for field in fields {
            if field.kind.is_layout() {
                layout.push(field);
                for child in field.kind.children() {
                    walk(std::slice::from_ref(child), layout, out);
                }
                layout.pop();
            } else {
                out.push((field, layout.clone()));
            }
        }
    }
    let mut out = Vec::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}
