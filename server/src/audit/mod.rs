//! The audit log: append-only, one hash chain per workspace (DESIGN §3).
//!
//! Each entry's hash covers its content and the previous entry's hash; the chain's head is
//! kept in `audit_heads`, written in the same transaction, so a changed, removed or
//! re-ordered entry — including the newest — breaks verification.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::entities::{audit_entry, audit_head};

mod created;
mod staged;
pub use created::CreatedChanges;
pub use staged::{Mark, Staged};

/// What happened, by whom, to what.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    /// Field-level changes: `{"field": {"before": ..., "after": ...}}` or a summary object.
    pub changes: Changes,
    pub reason: Option<&'a str>,
}

/// An entry's changes: a JSON value, or a new record's changes already written out (as
/// stored and as hashed) by its request handler, so that the group-commit writer does not
/// walk the record.
#[derive(Clone, Debug)]
pub enum Changes {
    Value(Value),
    Created(CreatedChanges),
}

impl From<Value> for Changes {
    fn from(value: Value) -> Changes {
        Changes::Value(value)
    }
}

impl Changes {
    /// The text stored in the entry's `changes` column.
    fn into_stored(self) -> String {
        match self {
            Changes::Value(value) => value.to_string(),
            Changes::Created(created) => created.stored(),
        }
    }
}

/// Appends `entry` to `workspace_id`'s chain. Call it inside the transaction of the change.
/// (The group-commit writer stages many entries the same way and writes them together.)
pub async fn append(db: &impl ConnectionTrait, workspace_id: &str, entry: Entry<'_>, at: i64) -> Result<i64, DbErr> {
    let mut staged = Staged::default();
    staged.open(db, workspace_id).await?;
    let seq = staged.append(workspace_id, entry, at)?;
    staged.flush(db).await?;
    Ok(seq)
}

/// Makes the caller's transaction the only writer of `workspace_id`'s chain until it ends.
pub async fn lock_chain(db: &impl ConnectionTrait, workspace_id: &str) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        // SQLite's IMMEDIATE transactions are single writers already. NO KEY UPDATE, because
        // inserting a row that references the workspace (a record) holds KEY SHARE on it: a
        // plain FOR UPDATE would deadlock against a transaction that inserted a record and now
        // waits for a lock this one holds (a unique value).
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM workspaces WHERE id = $1 FOR NO KEY UPDATE",
            [workspace_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// SHA-256 over a canonical JSON form of the entry (object keys sorted, so the hash does not
/// depend on how a database stores JSON) and the previous hash: the object
/// `{"action", "actor", "at", "changes", "object_id", "object_type", "prev", "reason", "seq",
/// "workspace"}` in that (sorted) order, compact, strings escaped as `serde_json` escapes them.
///
/// Written straight into the hasher: the group-commit writer hashes every entry of a batch
/// in turn, inside the transaction, so building a JSON tree of the entry (a deep copy of a
/// record's changes) and its text first was a third of the writer's time.
pub fn entry_hash(workspace_id: &str, seq: i64, at: i64, entry: &Entry<'_>, prev_hash: Option<&str>) -> String {
    let mut out = Canonical { hasher: Some(Sha256::new()), buffer: Vec::with_capacity(4096) };
    out.raw(b"{\"action\":");
    out.string(entry.action);
    out.raw(b",\"actor\":");
    out.string(entry.actor);
    out.raw(b",\"at\":");
    out.scalar(&at);
    out.raw(b",\"changes\":");
    match &entry.changes {
        Changes::Value(value) => out.value(value),
        Changes::Created(created) => created.hash_into(&mut out),
    }
    out.raw(b",\"object_id\":");
    out.string(entry.object_id);
    out.raw(b",\"object_type\":");
    out.string(entry.object_type);
    out.raw(b",\"prev\":");
    match prev_hash {
        Some(prev) => out.string(prev),
        None => out.raw(b"null"),
    }
    out.raw(b",\"reason\":");
    match entry.reason {
        Some(reason) => out.string(reason),
        None => out.raw(b"null"),
    }
    out.raw(b",\"seq\":");
    out.scalar(&seq);
    out.raw(b",\"workspace\":");
    out.string(workspace_id);
    out.raw(b"}");
    let digest = out.finish();
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Canonical JSON text fed to SHA-256 through a small buffer, or, without a hasher, kept
/// in the buffer (a new record's changes, written out in advance).
struct Canonical {
    hasher: Option<Sha256>,
    buffer: Vec<u8>,
}

impl Canonical {
    fn raw(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        self.spill();
    }

    /// Strings and numbers are written by `serde_json` itself, so their text (escapes,
    /// floating-point form) is what `Value::to_string` gives.
    fn scalar<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buffer, value);
        self.spill();
    }

    fn string(&mut self, text: &str) {
        self.scalar(text);
    }

    fn spill(&mut self) {
        if self.buffer.len() >= 4096
            && let Some(hasher) = &mut self.hasher
        {
            hasher.update(&self.buffer);
            self.buffer.clear();
        }
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                self.raw(b"{");
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        self.raw(b",");
                    }
                    self.string(key);
                    self.raw(b":");
                    self.value(item);
                }
                self.raw(b"}");
            }
            Value::Array(items) => {
                self.raw(b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.raw(b",");
                    }
                    self.value(item);
                }
                self.raw(b"]");
            }
            Value::String(text) => self.string(text),
            Value::Number(number) => self.scalar(number),
            Value::Bool(true) => self.raw(b"true"),
            Value::Bool(false) => self.raw(b"false"),
            Value::Null => self.raw(b"null"),
        }
    }

    fn finish(self) -> [u8; 32] {
        let mut hasher = self.hasher.unwrap_or_default();
        hasher.update(&self.buffer);
        hasher.finalize().into()
    }
}

/// The outcome of checking one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub entries: u64,
    pub ok: bool,
    /// The first entry (sequence number) that does not check out, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<Broken>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// Walks `workspace_id`'s chain in order, in pages, recomputing every hash.
pub async fn verify(db: &impl ConnectionTrait, workspace_id: &str) -> Result<Verification, DbErr> {
    let head = audit_head::Entity::find_by_id(workspace_id.to_owned()).one(db).await?;
    let mut expected_seq = 1;
    let mut prev_hash: Option<String> = None;
    let mut entries = 0u64;
    let broken = |seq: i64, reason: &str, entries: u64| Verification {
        entries,
        ok: false,
        first_broken: Some(Broken { seq, reason: reason.to_owned() }),
    };
    loop {
        let page = audit_entry::Entity::find()
            .filter(audit_entry::Column::WorkspaceId.eq(workspace_id))
            .filter(audit_entry::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_entry::Column::Seq)
            .limit(1000)
            .all(db)
            .await?;
        if page.is_empty() {
            break;
        }
        for row in page {
            entries += 1;
            if row.seq != expected_seq {
                return Ok(broken(expected_seq, "entry missing", entries));
            }
            if row.prev_hash != prev_hash {
                return Ok(broken(row.seq, "link to the previous entry does not match", entries));
            }
            let entry = Entry {
                actor: &row.actor,
                action: &row.action,
                object_type: &row.object_type,
                object_id: &row.object_id,
                changes: Changes::Value(row.changes.clone()),
                reason: row.reason.as_deref(),
            };
            if entry_hash(workspace_id, row.seq, row.at, &entry, row.prev_hash.as_deref()) != row.hash {
                return Ok(broken(row.seq, "content does not match its hash", entries));
            }
            prev_hash = Some(row.hash);
            expected_seq += 1;
        }
    }
    let last_seq = expected_seq - 1;
    match head {
        Some(head) if head.seq != last_seq || Some(&head.hash) != prev_hash.as_ref() => {
            Ok(broken(last_seq + 1, "the newest entries are missing", entries))
        }
        None if last_seq > 0 => Ok(broken(1, "the chain has no recorded head", entries)),
        _ => Ok(Verification { entries, ok: true, first_broken: None }),
    }
}
