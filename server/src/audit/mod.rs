//! The audit log: append-only, one hash chain per workspace (DESIGN §3).
//!
//! Each entry's hash covers its content and the previous entry's hash; the chain's head is
//! kept in `audit_heads`, written in the same transaction, so a changed, removed or
//! re-ordered entry — including the newest — breaks verification.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db::entities::{audit_entry, audit_head};

mod staged;
pub use staged::{Mark, Staged};

/// What happened, by whom, to what.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    /// Field-level changes: `{"field": {"before": ..., "after": ...}}` or a summary object.
    pub changes: Value,
    pub reason: Option<&'a str>,
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
/// depend on how a database stores JSON) and the previous hash.
pub fn entry_hash(workspace_id: &str, seq: i64, at: i64, entry: &Entry<'_>, prev_hash: Option<&str>) -> String {
    let content = json!({
        "workspace": workspace_id,
        "seq": seq,
        "at": at,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "changes": entry.changes,
        "reason": entry.reason,
        "prev": prev_hash,
    });
    let mut canonical = String::new();
    write_canonical(&content, &mut canonical);
    Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
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
                changes: row.changes.clone(),
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
