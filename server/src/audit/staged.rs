//! Audit entries staged in memory for one group-commit transaction: the chains' heads are
//! read once, entries are hashed in order as jobs run, and everything is written with one
//! multi-row insert and one head update per workspace before the commit.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, Iterable, QueryTrait, Set, Statement};

use super::{Entry, entry_hash, lock_chain};
use crate::db::entities::{audit_entry, audit_head};
use crate::db::writes::{Write, json_text};

#[derive(Clone, Debug)]
struct Head {
    seq: i64,
    hash: Option<String>,
    stored: bool,
    /// The sequence number when read, so that unchanged heads are not written.
    read_seq: i64,
}

#[derive(Default)]
pub struct Staged {
    heads: HashMap<String, Head>,
    entries: Vec<Row>,
}

/// An entry as it will be inserted, its changes as JSON text (see [`json_text`]).
struct Row {
    workspace_id: String,
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    object_type: String,
    object_id: String,
    changes: String,
    reason: Option<String>,
    prev_hash: Option<String>,
    hash: String,
}

impl Row {
    /// The values in the order of [`COLUMNS`].
    fn values(self, backend: DbBackend) -> [Expr; 11] {
        [
            self.workspace_id.into(),
            self.seq.into(),
            self.at.into(),
            self.actor.into(),
            self.action.into(),
            self.object_type.into(),
            self.object_id.into(),
            json_text(backend, self.changes),
            self.reason.into(),
            self.prev_hash.into(),
            self.hash.into(),
        ]
    }
}

const COLUMNS: [audit_entry::Column; 11] = [
    audit_entry::Column::WorkspaceId,
    audit_entry::Column::Seq,
    audit_entry::Column::At,
    audit_entry::Column::Actor,
    audit_entry::Column::Action,
    audit_entry::Column::ObjectType,
    audit_entry::Column::ObjectId,
    audit_entry::Column::Changes,
    audit_entry::Column::Reason,
    audit_entry::Column::PrevHash,
    audit_entry::Column::Hash,
];

/// What to restore when a job that staged entries fails.
pub struct Mark {
    heads: HashMap<String, Head>,
    entries: usize,
}

impl Staged {
    /// Locks and reads the chain of `workspace_id` (once per transaction).
    pub async fn open(&mut self, db: &impl ConnectionTrait, workspace_id: &str) -> Result<(), DbErr> {
        if self.heads.contains_key(workspace_id) {
            return Ok(());
        }
        let head = match db.get_database_backend() {
            // One round trip where the chain has a head already (every write but a
            // workspace's first): the lock and the read in one statement.
            DbBackend::Postgres => match lock_and_read_head(db, workspace_id).await? {
                Some(head) => Some(head),
                None => {
                    lock_chain(db, workspace_id).await?;
                    read_head(db, workspace_id).await?
                }
            },
            // SQLite's IMMEDIATE transactions are single writers already.
            _ => read_head(db, workspace_id).await?,
        };
        let head = match head {
            Some((seq, hash)) => Head { seq, hash: Some(hash), stored: true, read_seq: seq },
            None => Head { seq: 0, hash: None, stored: false, read_seq: 0 },
        };
        self.heads.insert(workspace_id.to_owned(), head);
        Ok(())
    }

    /// Appends `entry` to the staged chain of an opened workspace.
    pub fn append(&mut self, workspace_id: &str, entry: Entry<'_>, at: i64) -> Result<i64, DbErr> {
        let head = self
            .heads
            .get_mut(workspace_id)
            .ok_or_else(|| DbErr::Custom(format!("audit chain of {workspace_id} not opened")))?;
        let seq = head.seq + 1;
        let hash = entry_hash(workspace_id, seq, at, &entry, head.hash.as_deref());
        self.entries.push(Row {
            workspace_id: workspace_id.to_owned(),
            seq,
            at,
            actor: entry.actor.to_owned(),
            action: entry.action.to_owned(),
            object_type: entry.object_type.to_owned(),
            object_id: entry.object_id.to_owned(),
            changes: entry.changes.into_stored(),
            reason: entry.reason.map(str::to_owned),
            prev_hash: head.hash.clone(),
            hash: hash.clone(),
        });
        head.seq = seq;
        head.hash = Some(hash);
        Ok(seq)
    }

    pub fn mark(&self) -> Mark {
        Mark { heads: self.heads.clone(), entries: self.entries.len() }
    }

    pub fn reset(&mut self, mark: Mark) {
        self.heads = mark.heads;
        self.entries.truncate(mark.entries);
    }

    /// Writes the staged entries and the new heads.
    pub async fn flush(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let writes = self.writes(db.get_database_backend())?;
        crate::db::writes::execute(db, writes).await
    }

    /// The statements that write the staged entries (multi-row inserts) and the new heads,
    /// for a caller that sends them together with others ([`crate::db::writes`]).
    pub fn writes(self, backend: DbBackend) -> Result<Vec<Write>, DbErr> {
        let rows = self.entries.into_iter().map(|row| row.values(backend));
        let mut writes = Write::insert_rows(audit_entry::Entity, COLUMNS, rows)?;
        for (workspace_id, head) in self.heads {
            let Some(hash) = head.hash.filter(|_| head.seq != head.read_seq) else { continue };
            let write = if head.stored {
                let update = Query::update()
                    .table(audit_head::Entity)
                    .value(audit_head::Column::Seq, head.seq)
                    .value(audit_head::Column::Hash, hash)
                    .and_where(audit_head::Column::WorkspaceId.eq(workspace_id))
                    .to_owned();
                Write::update(update, 1)
            } else {
                let row =
                    audit_head::ActiveModel { workspace_id: Set(workspace_id), seq: Set(head.seq), hash: Set(hash) };
                Write::insert(audit_head::Entity::insert(row).into_query(), 1, audit_head::Column::iter().count())
            };
            writes.push(write);
        }
        Ok(writes)
    }
}

/// Locks the chain (the workspace's row, then its head's) and reads its head in one
/// statement; `None` when the chain has no head yet. Both rows are locked, so after waiting
/// for another writer PostgreSQL re-reads both at their newest: the head read is never stale.
async fn lock_and_read_head(db: &impl ConnectionTrait, workspace_id: &str) -> Result<Option<(i64, String)>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT h.seq, h.hash FROM workspaces w JOIN audit_heads h ON h.workspace_id = w.id \
             WHERE w.id = $1 FOR NO KEY UPDATE",
            [workspace_id.into()],
        ))
        .await?;
    row.map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?))).transpose()
}

async fn read_head(db: &impl ConnectionTrait, workspace_id: &str) -> Result<Option<(i64, String)>, DbErr> {
    let head = audit_head::Entity::find_by_id(workspace_id.to_owned()).one(db).await?;
    Ok(head.map(|head| (head.seq, head.hash)))
}
