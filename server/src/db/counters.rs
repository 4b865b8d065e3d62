//! Gapless counters (auto-numbers), drawn inside the caller's transaction.
//!
//! The first draw of a counter in a transaction upserts its row (`value + 1 ... RETURNING`),
//! which also locks the row until commit; later draws of the same counter in the same
//! transaction only count on in memory, and [`Counters::flush`] writes the last value back
//! before the commit. A group commit of twenty submissions on one form thus costs two
//! statements for its numbers instead of twenty, and the numbers stay gapless: a rolled-back
//! transaction takes its increments with it, and a job that fails after drawing restores the
//! counters it advanced ([`Counters::mark`], [`Counters::reset`]).

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::db::writes::Write;

/// The counters drawn in one transaction: the last value handed out and whether the row is
/// behind it.
#[derive(Default, Debug, Clone)]
pub struct Counters {
    drawn: HashMap<(String, String), Drawn>,
}

#[derive(Debug, Clone, Copy)]
struct Drawn {
    last: u64,
    stored: u64,
}

/// What [`Counters::reset`] goes back to.
#[derive(Debug, Clone)]
pub struct Mark(HashMap<(String, String), Drawn>);

impl Counters {
    /// The next value of counter `name` of `workspace_id`.
    pub async fn next(&mut self, db: &impl ConnectionTrait, workspace_id: &str, name: &str) -> Result<u64, DbErr> {
        let key = (workspace_id.to_owned(), name.to_owned());
        if let Some(drawn) = self.drawn.get_mut(&key) {
            drawn.last += 1;
            return Ok(drawn.last);
        }
        let value = upsert(db, workspace_id, name).await?;
        self.drawn.insert(key, Drawn { last: value, stored: value });
        Ok(value)
    }

    /// The state to return to if the job that draws next fails.
    pub fn mark(&self) -> Mark {
        Mark(self.drawn.clone())
    }

    /// Takes back what was drawn since `mark`. A counter first drawn since then keeps its row
    /// one ahead of the mark, so it is remembered as drawn up to that value minus one and
    /// written back on flush.
    pub fn reset(&mut self, mark: Mark) {
        let mut restored = mark.0;
        for (key, drawn) in &self.drawn {
            if !restored.contains_key(key) {
                restored.insert(key.clone(), Drawn { last: drawn.stored - 1, stored: drawn.stored });
            }
        }
        self.drawn = restored;
    }

    /// Writes every counter whose row is behind (or, after a reset, ahead of) what was drawn.
    pub async fn flush(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        crate::db::writes::execute(db, self.writes()).await?;
        for drawn in self.drawn.values_mut() {
            drawn.stored = drawn.last;
        }
        Ok(())
    }

    /// The updates [`Counters::flush`] makes, for a caller that sends them with others.
    pub fn writes(&self) -> Vec<Write> {
        let mut writes = Vec::new();
        for ((workspace_id, name), drawn) in &self.drawn {
            if drawn.last != drawn.stored {
                let update = Query::update()
                    .table(Alias::new("counters"))
                    .value(Alias::new("value"), drawn.last as i64)
                    .and_where(Expr::col(Alias::new("workspace_id")).eq(workspace_id.as_str()))
                    .and_where(Expr::col(Alias::new("name")).eq(name.as_str()))
                    .to_owned();
                writes.push(Write::update(update, 2));
            }
        }
        writes
    }
}

/// Increments (or creates at 1) the counter's row and returns its new value; the row stays
/// locked until the transaction ends, so concurrent transactions queue on it.
async fn upsert(db: &impl ConnectionTrait, workspace_id: &str, name: &str) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO counters (workspace_id, name, value) VALUES ($1, $2, 1) \
             ON CONFLICT (workspace_id, name) DO UPDATE SET value = counters.value + 1 RETURNING value"
        }
        _ => {
            "INSERT INTO counters (workspace_id, name, value) VALUES (?, ?, 1) \
             ON CONFLICT (workspace_id, name) DO UPDATE SET value = counters.value + 1 RETURNING value"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [workspace_id.into(), name.into()]))
        .await?
        .ok_or_else(|| DbErr::Custom("counter upsert returned nothing".to_owned()))?;
    let value: i64 = row.try_get_by_index(0)?;
    Ok(value as u64)
}
