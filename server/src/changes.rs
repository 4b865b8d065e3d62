//! The change feed derived indexes follow: every record write appends an audit entry in its
//! own transaction, so the audit log, in sequence order, says which records changed. The lot
//! links (`crate::trace`) and the full-text index (`crate::search`) each keep their own
//! position in it and read it through these functions.

use std::collections::BTreeSet;
use std::future::Future;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement, Value as SqlValue};

use crate::db::entities::record;
use crate::error::ApiError;

/// `count` bind placeholders numbered from `start`, in the backend's syntax.
pub fn placeholders(backend: DbBackend, count: usize, start: usize) -> Vec<String> {
    (start..start + count)
        .map(|i| if backend == DbBackend::Postgres { format!("${i}") } else { format!("?{i}") })
        .collect()
}

/// Audit entries past a position: the last sequence number read, how many entries, and the
/// records they name.
pub struct Page {
    pub last: i64,
    pub read: usize,
    pub records: Vec<String>,
}

/// Up to `limit` entries of the workspace's log after `after`; `None` when there are none.
pub async fn page(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    after: i64,
    limit: i64,
) -> Result<Option<Page>, ApiError> {
    let backend = db.get_database_backend();
    let p = placeholders(backend, 3, 1);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT seq, object_type, object_id FROM audit_log WHERE workspace_id = {} AND seq > {} \
                 ORDER BY seq LIMIT {}",
                p[0], p[1], p[2]
            ),
            [workspace_id.into(), after.into(), limit.into()],
        ))
        .await?;
    let Some(last) = rows.last() else { return Ok(None) };
    let last: i64 = last.try_get_by_index(0)?;
    let mut records = BTreeSet::new();
    for row in &rows {
        if row.try_get_by_index::<String>(1)? == "record" {
            records.insert(row.try_get_by_index::<String>(2)?);
        }
    }
    Ok(Some(Page { last, read: rows.len(), records: records.into_iter().collect() }))
}

/// The workspace's last sequence number (0 for an empty log).
pub async fn head(db: &impl ConnectionTrait, workspace_id: &str) -> Result<i64, ApiError> {
    let backend = db.get_database_backend();
    let p = placeholders(backend, 1, 1);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE workspace_id = {}", p[0]),
            [workspace_id.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

/// The live (not deleted) records among `ids`.
pub async fn live_records(db: &impl ConnectionTrait, ids: &[String]) -> Result<Vec<record::Model>, ApiError> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let p = placeholders(backend, chunk.len(), 1);
        let statement = Statement::from_sql_and_values(
            backend,
            format!("SELECT * FROM records WHERE id IN ({}) AND deleted_at IS NULL", p.join(", ")),
            chunk.iter().map(|id| SqlValue::from(id.clone())).collect::<Vec<_>>(),
        );
        out.extend(record::Entity::find().from_raw_sql(statement).all(db).await?);
    }
    Ok(out)
}

/// How often the followers (search index, lot links) catch up. They only keep the work of
/// a query small: a search or a trace catches up itself before it answers, so nothing is
/// ever missing from an answer. Each round has a fixed cost (a search round creates an
/// index writer and commits a segment), which a round a second keeps to a few percent of
/// the server's time under a steady stream of submissions.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `round` for every workspace every [`FOLLOW_EVERY`] until `stop`; a failing round is
/// logged (as `what`) and tried again the next time.
pub async fn follow<F, Fut>(
    db: DatabaseConnection,
    what: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<usize, ApiError>>,
{
    loop {
        let workspaces = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM workspaces"))
            .await
            .map(|rows| rows.iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect::<Vec<_>>());
        for workspace in workspaces.unwrap_or_default() {
            if let Err(error) = round(workspace.clone()).await {
                tracing::warn!(?error, workspace, what, "catching up failed; retrying next round");
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
    }
}
