//! The rollup worker: keeps each workspace's rollups in line with its dashboards, builds new
//! ones chunk by chunk, and compacts cells. Several server processes may run it at once:
//! every step re-reads what it works on under the workspace's chain lock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

use super::cells::{self, Records};
use super::{Covered, Rollup, statement};
use crate::changes::placeholders;
use crate::forms_cache::FormsCache;

/// Records summed per building transaction: long enough to be efficient, short enough that
/// the writers of the workspace, who wait for its lock, are not held up for long.
const CHUNK: i64 = 20_000;
/// Compact a ready rollup once this many cells were added since the last time.
const COMPACT_AFTER: u64 = 2_000;
/// While building, compact once this many cells piled up.
const COMPACT_WHILE_BUILDING: u64 = 50_000;

/// What a workspace's rollups depend on: its dashboards, its forms' versions and its offset.
async fn signature(db: &impl ConnectionTrait, workspace_id: &str) -> Result<String, DbErr> {
    let p = placeholders(db.get_database_backend(), 1, 1);
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM dashboards WHERE workspace_id = {0}), \
         (SELECT COALESCE(MAX(updated_at), 0) FROM dashboards WHERE workspace_id = {0}), \
         (SELECT COUNT(*) FROM forms WHERE workspace_id = {0}), \
         (SELECT COALESCE(MAX(updated_at), 0) FROM forms WHERE workspace_id = {0}), \
         (SELECT COUNT(*) FROM rollups WHERE workspace_id = {0}), \
         (SELECT utc_offset_minutes FROM workspaces WHERE id = {0})",
        p[0]
    );
    let Some(row) = db.query_one_raw(statement(db, sql, vec![workspace_id.into()])).await? else {
        return Ok(String::new());
    };
    let mut parts = Vec::new();
    for i in 0..6 {
        parts.push(row.try_get_by_index::<Option<i64>>(i).ok().flatten().unwrap_or_default().to_string());
    }
    Ok(parts.join("/"))
}

/// Sums one more chunk (`chunk` records) of rollup `id`'s records; `true` when the rollup is
/// ready (or gone).
pub async fn build_chunk(db: &DatabaseConnection, workspace_id: &str, id: &str, chunk: i64) -> Result<bool, DbErr> {
    let txn = crate::db::write_txn(db).await?;
    crate::audit::lock_chain(&txn, workspace_id).await?;
    let backend = txn.get_database_backend();
    let p = placeholders(backend, 1, 1);
    let sql = format!("SELECT form_id, shape, state, built_upto FROM rollups WHERE id = {}", p[0]);
    let Some(row) = txn.query_one_raw(statement(&txn, sql, vec![id.into()])).await? else {
        txn.commit().await?;
        return Ok(true);
    };
    let form_id: String = row.try_get_by_index(0)?;
    let state: String = row.try_get_by_index(2)?;
    let after: Option<String> = row.try_get_by_index(3)?;
    let Ok(shape) = serde_json::from_str(&row.try_get_by_index::<String>(1)?) else {
        txn.commit().await?;
        return Ok(true);
    };
    if state == "ready" {
        txn.commit().await?;
        return Ok(true);
    }
    let covered = after.clone().map_or(Covered::Nothing, Covered::UpTo);
    let rollup = Rollup { id: id.to_owned(), shape, covered };
    let p = placeholders(backend, 3, 1);
    let (sql, values) = match &after {
        Some(after) => (
            format!(
                "SELECT id FROM records WHERE form_id = {} AND id > {} ORDER BY id LIMIT 1 OFFSET {}",
                p[0], p[1], p[2]
            ),
            vec![form_id.clone().into(), after.clone().into(), (chunk - 1).into()],
        ),
        None => (
            format!("SELECT id FROM records WHERE form_id = {} ORDER BY id LIMIT 1 OFFSET {}", p[0], p[1]),
            vec![form_id.clone().into(), (chunk - 1).into()],
        ),
    };
    let upto: Option<String> =
        txn.query_one_raw(statement(&txn, sql, values)).await?.map(|row| row.try_get_by_index(0)).transpose()?;
    let range = Records::Range { after: after.as_deref(), upto: upto.as_deref() };
    cells::contribute(&txn, &rollup, workspace_id, &form_id, range, 1).await?;
    let p = placeholders(backend, 2, 1);
    let done = upto.is_none();
    let (sql, values) = match upto {
        Some(upto) => {
            (format!("UPDATE rollups SET built_upto = {} WHERE id = {}", p[0], p[1]), vec![upto.into(), id.into()])
        }
        None => (format!("UPDATE rollups SET state = 'ready', built_upto = NULL WHERE id = {}", p[0]), vec![id.into()]),
    };
    txn.execute_raw(statement(&txn, sql, values)).await?;
    if cells::pending(&txn, id).await? >= if done { COMPACT_AFTER } else { COMPACT_WHILE_BUILDING } {
        cells::compact(&txn, id).await?;
    }
    txn.commit().await?;
    Ok(done)
}

async fn compact_if_due(db: &DatabaseConnection, workspace_id: &str, id: &str) -> Result<(), DbErr> {
    if cells::pending(db, id).await? < COMPACT_AFTER {
        return Ok(());
    }
    let txn = crate::db::write_txn(db).await?;
    super::compact(&txn, workspace_id, id).await?;
    txn.commit().await
}

/// One pass over a workspace: sync when its dashboards or forms changed (or `force`), build
/// what is building to the end, compact what is due.
async fn workspace_round(
    db: &DatabaseConnection,
    forms: &FormsCache,
    workspace_id: &str,
    seen: &mut HashMap<String, String>,
    stop: Option<&tokio::sync::watch::Receiver<bool>>,
) -> Result<(), DbErr> {
    let signature = signature(db, workspace_id).await?;
    if seen.get(workspace_id) != Some(&signature) {
        let created = sync_workspace(db, forms, workspace_id).await?;
        if created > 0 {
            tracing::info!(workspace_id, created, "rollups to build for the workspace's dashboards");
        }
        // The sync itself changes the rollup count: read the signature after it.
        seen.insert(workspace_id.to_owned(), self::signature(db, workspace_id).await?);
    }
    let p = placeholders(db.get_database_backend(), 1, 1);
    let rows = db
        .query_all_raw(statement(
            db,
            format!("SELECT id, state FROM rollups WHERE workspace_id = {} ORDER BY id", p[0]),
            vec![workspace_id.into()],
        ))
        .await?;
    for row in rows {
        let id: String = row.try_get_by_index(0)?;
        let state: String = row.try_get_by_index(1)?;
        if state == "ready" {
            compact_if_due(db, workspace_id, &id).await?;
            continue;
        }
        let started = std::time::Instant::now();
        while !build_chunk(db, workspace_id, &id, CHUNK).await? {
            if stop.is_some_and(|s| *s.borrow()) {
                return Ok(());
            }
        }
        tracing::info!(workspace_id, rollup = id, seconds = started.elapsed().as_secs_f64(), "rollup built");
        // A build inserts and folds many cells: on PostgreSQL the dead rows it leaves slow
        // every later read of the table (10x in the benchmark) until they are vacuumed, and
        // the planner needs the new statistics.
        if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            db.execute_unprepared("VACUUM (ANALYZE) rollup_cells").await?;
        }
    }
    Ok(())
}

/// Syncs one workspace's rollups with its dashboards now, in its own transaction.
pub async fn sync_workspace(db: &DatabaseConnection, forms: &FormsCache, workspace_id: &str) -> Result<usize, DbErr> {
    let txn = crate::db::write_txn(db).await?;
    let created = super::sync(&txn, forms, workspace_id).await?;
    txn.commit().await?;
    Ok(created)
}

async fn workspaces(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM workspaces")).await?;
    rows.iter().map(|r| r.try_get_by_index::<String>(0)).collect()
}

/// Syncs every workspace's rollups with its dashboards and builds them to the end (tests,
/// benchmarks and `formwork` commands that need rollups ready now).
pub async fn catch_up(db: &DatabaseConnection, forms: &FormsCache) -> Result<(), DbErr> {
    let mut seen = HashMap::new();
    for workspace in workspaces(db).await? {
        workspace_round(db, forms, &workspace, &mut seen, None).await?;
    }
    Ok(())
}

/// The worker loop; stops when `stop` turns true.
pub async fn run(db: DatabaseConnection, forms: Arc<FormsCache>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut seen = HashMap::new();
    loop {
        match workspaces(&db).await {
            Ok(list) => {
                for workspace in list {
                    if let Err(error) = workspace_round(&db, &forms, &workspace, &mut seen, Some(&stop)).await {
                        tracing::warn!(?error, workspace, "rollups: a round failed; retrying next round");
                        seen.remove(&workspace);
                    }
                }
            }
            Err(error) => tracing::warn!(?error, "rollups: cannot list workspaces"),
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
