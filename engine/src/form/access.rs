//! Field-level access (DESIGN §8): which top-level fields a caller's workspace roles may read
//! and edit. The rules are data in the form definition; the server applies the mask on every
//! path that returns or accepts record data.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::issue::{Code, Issue};
use super::{CompiledForm, data_fields};

/// `"access": {"read": ["qe", "manager"], "edit": ["qe"]}` on a field. An empty list means
/// everybody who may read (or edit) the record; a field nobody may read is not editable either.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldAccess {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edit: Vec<String>,
}

/// The fields one caller may not read (`hidden`) or not change (`locked`, a superset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldMask {
    hidden: BTreeSet<String>,
    locked: BTreeSet<String>,
}

fn allowed(listed: &[String], roles: &[String]) -> bool {
    listed.is_empty() || listed.iter().any(|role| roles.contains(role))
}

impl CompiledForm {
    /// The mask for a caller holding `roles`; `unrestricted` callers (administrators) see and
    /// edit everything.
    pub fn field_mask(&self, roles: &[String], unrestricted: bool) -> FieldMask {
        let mut mask = FieldMask::default();
        if unrestricted {
            return mask;
        }
        for (field, _) in data_fields(&self.definition().fields) {
            let Some(access) = &field.common.access else { continue };
            let readable = allowed(&access.read, roles);
            if !readable {
                mask.hidden.insert(field.key.clone());
            }
            if !readable || !allowed(&access.edit, roles) {
                mask.locked.insert(field.key.clone());
            }
        }
        mask
    }
}

impl FieldMask {
    /// True when nothing is hidden or locked.
    pub fn is_open(&self) -> bool {
        self.locked.is_empty()
    }

    pub fn can_read(&self, key: &str) -> bool {
        !self.hidden.contains(key)
    }

    pub fn can_edit(&self, key: &str) -> bool {
        !self.locked.contains(key)
    }

    pub fn hidden(&self) -> impl Iterator<Item = &str> {
        self.hidden.iter().map(String::as_str)
    }

    /// Removes the hidden fields from a record's data, or from a field-keyed change map.
    pub fn redact(&self, data: &mut Value) {
        if let Some(object) = data.as_object_mut() {
            for key in &self.hidden {
                object.shift_remove(key);
            }
        }
    }

    /// One `not_editable` issue per locked field that `submitted` would change: on a new
    /// record (`previous` is `None`) any value counts; on an edit, a value different from the
    /// stored one (`null` removes).
    pub fn edit_issues(&self, submitted: &Map<String, Value>, previous: Option<&Map<String, Value>>) -> Vec<Issue> {
        let mut issues = Vec::new();
        for key in &self.locked {
            let Some(value) = submitted.get(key) else { continue };
            let changes = match previous {
                None => !value.is_null(),
                Some(previous) => match previous.get(key) {
                    Some(stored) => stored != value,
                    None => !value.is_null(),
                },
            };
            if changes {
                issues.push(Issue::new(format!("/{key}"), Code::NotEditable));
            }
        }
        issues
    }
}

/// The issue for a top-level `unique` field whose value another record already holds.
pub fn not_unique(key: &str, value: &Value) -> Issue {
    let shown = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    Issue::new(format!("/{key}"), Code::NotUnique).param("value", shown)
}
