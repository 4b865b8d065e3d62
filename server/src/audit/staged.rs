//! Audit entries staged in memory for one group-commit transaction: the chains' heads are
//! read once, entries are hashed in order as jobs run, and everything is written with one
//! multi-row insert and one head update per workspace before the commit.

use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};

use super::{Entry, entry_hash, lock_chain};
use crate::db::entities::{audit_entry, audit_head};

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
    entries: Vec<audit_entry::ActiveModel>,
}

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
        lock_chain(db, workspace_id).await?;
        let head = audit_head::Entity::find_by_id(workspace_id.to_owned()).one(db).await?;
        let head = match head {
            Some(head) => Head { seq: head.seq, hash: Some(head.hash), stored: true, read_seq: head.seq },
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
        self.entries.push(audit_entry::ActiveModel {
            workspace_id: Set(workspace_id.to_owned()),
            seq: Set(seq),
            at: Set(at),
            actor: Set(entry.actor.to_owned()),
            action: Set(entry.action.to_owned()),
            object_type: Set(entry.object_type.to_owned()),
            object_id: Set(entry.object_id.to_owned()),
            changes: Set(entry.changes),
            reason: Set(entry.reason.map(str::to_owned)),
            prev_hash: Set(head.hash.clone()),
            hash: Set(hash.clone()),
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
        if self.entries.is_empty() {
            return Ok(());
        }
        // SQLite binds at most 32,766 parameters per statement: 11 columns x 1,000 rows fits.
        let mut entries = self.entries;
        while !entries.is_empty() {
            let rest = entries.split_off(entries.len().min(1000));
            audit_entry::Entity::insert_many(entries).exec(db).await?;
            entries = rest;
        }
        for (workspace_id, head) in self.heads {
            let Some(hash) = head.hash.filter(|_| head.seq != head.read_seq) else { continue };
            let row = audit_head::ActiveModel { workspace_id: Set(workspace_id), seq: Set(head.seq), hash: Set(hash) };
            if head.stored {
                row.update(db).await?;
            } else {
                row.insert(db).await?;
            }
        }
        Ok(())
    }
}
