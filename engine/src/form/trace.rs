//! The lots a record names in fields marked for traceability (`"trace": "produces" |
//! "consumes" | "refers"` on lot fields, top level or in subtable rows).

use serde_json::Value;

use super::{CompiledForm, FieldKind, LotRole, data_fields};

/// One lot a record names: the field (`key` or `subtable.key`), the role and the value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LotLink {
    pub field: String,
    pub role: LotRole,
    pub lot: String,
}

impl CompiledForm {
    /// The record's lot links, each distinct (field, role, lot) once, in field order.
    pub fn lot_links(&self, record: &Value) -> Vec<LotLink> {
        let mut out = Vec::new();
        let mut push = |field: String, role: LotRole, value: Option<&Value>| {
            if let Some(lot) = value.and_then(Value::as_str).map(str::trim).filter(|l| !l.is_empty()) {
                let link = LotLink { field, role, lot: lot.to_owned() };
                if !out.contains(&link) {
                    out.push(link);
                }
            }
        };
        for (field, _) in data_fields(&self.definition().fields) {
            match &field.kind {
                FieldKind::Lot(spec) => {
                    if let Some(role) = spec.trace {
                        push(field.key.clone(), role, record.get(&field.key));
                    }
                }
                FieldKind::Subtable(table) => {
                    for (cell, _) in data_fields(&table.fields) {
                        let FieldKind::Lot(spec) = &cell.kind else { continue };
                        let Some(role) = spec.trace else { continue };
                        for row in record.get(&field.key).and_then(Value::as_array).into_iter().flatten() {
                            push(format!("{}.{}", field.key, cell.key), role, row.get(&cell.key));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}
