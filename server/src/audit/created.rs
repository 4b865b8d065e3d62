//! A new record's audit changes, written out by its request handler.
//!
//! Every submission's audit entry holds the whole record as changes
//! (`{"field": {"before": null, "after": value}}`): stored in the record's field order, and
//! hashed in the chain's canonical form (keys sorted). Both texts are made where requests
//! run side by side, so that the group-commit writer — the one serial step of every write —
//! only adds the auto-numbers it draws and feeds bytes to the hash.

use serde_json::{Map, Value};

use super::Canonical;

#[derive(Clone, Debug)]
pub struct CreatedChanges {
    /// The stored text, without its closing brace.
    stored: Vec<u8>,
    /// The canonical entries, each `"field":{"after":value,"before":null},`.
    canonical: Vec<u8>,
    /// Each entry's field and where its text ends in `canonical`, in the order of the fields.
    ends: Vec<(String, usize)>,
}

impl CreatedChanges {
    /// The changes of a record created with `data` (an object; anything else has none).
    pub fn of(data: &Value) -> CreatedChanges {
        let empty = Map::new();
        let fields = data.as_object().unwrap_or(&empty);
        let mut changes = CreatedChanges {
            stored: Vec::with_capacity(4096),
            canonical: Vec::with_capacity(4096),
            ends: Vec::with_capacity(fields.len()),
        };
        changes.stored.push(b'{');
        for (field, value) in fields {
            changes.push_stored(field, value);
        }
        let mut sorted: Vec<(&String, &Value)> = fields.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (field, value) in sorted {
            changes.canonical.extend_from_slice(&canonical_entry(field, value));
            changes.ends.push((field.clone(), changes.canonical.len()));
        }
        changes
    }

    /// Adds a field the record did not have yet (an auto-number drawn by the writer), after
    /// the others as stored and in its place among them as hashed.
    pub fn add(&mut self, field: &str, value: &Value) {
        self.push_stored(field, value);
        let position = self.ends.partition_point(|(other, _)| other.as_str() < field);
        let start = if position == 0 { 0 } else { self.ends[position - 1].1 };
        let entry = canonical_entry(field, value);
        let length = entry.len();
        self.canonical.splice(start..start, entry);
        for (_, end) in &mut self.ends[position..] {
            *end += length;
        }
        self.ends.insert(position, (field.to_owned(), start + length));
    }

    /// The text stored in the entry's `changes` column.
    pub fn stored(mut self) -> String {
        self.stored.push(b'}');
        // Only `serde_json` wrote here, and it writes UTF-8.
        String::from_utf8(self.stored).unwrap_or_default()
    }

    /// Feeds the canonical text to the entry's hash.
    pub(super) fn hash_into(&self, out: &mut Canonical) {
        out.raw(b"{");
        // Each entry ends with a comma; the last one's is left out.
        out.raw(self.canonical.strip_suffix(b",").unwrap_or(&self.canonical));
        out.raw(b"}");
    }

    fn push_stored(&mut self, field: &str, value: &Value) {
        if self.stored.len() > 1 {
            self.stored.push(b',');
        }
        // Writing into a Vec cannot fail. The order of `before` and `after` is that of
        // `routes::records::diff`, which writes the changes of every other update.
        let _ = serde_json::to_writer(&mut self.stored, field);
        self.stored.extend_from_slice(b":{\"before\":null,\"after\":");
        let _ = serde_json::to_writer(&mut self.stored, value);
        self.stored.push(b'}');
    }
}

/// `"field":{"after":value,"before":null},` in canonical form.
fn canonical_entry(field: &str, value: &Value) -> Vec<u8> {
    let mut out = Canonical { hasher: None, buffer: Vec::new() };
    out.string(field);
    out.raw(b":{\"after\":");
    out.value(value);
    out.raw(b",\"before\":null},");
    out.buffer
}
