//! The outbox worker: leases due rows, delivers them through their connector, records every
//! attempt, and feeds the answer back to the waiting instance in one transaction.
//!
//! Delivery is at-least-once: a worker that dies mid-call loses its lease and the row is
//! delivered again with the same idempotency key, which the connector uses to make the effect
//! happen once. Leases are taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
//! server processes never hold the same row; SQLite's single writer gives the same guarantee.

use engine::workflow::EventKind;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use super::connectors::{self, Outcome};
use super::{Runner, in_transaction};
use crate::db::entities::{connector, outbox, outbox_attempt};
use crate::error::ApiError;
use crate::identity::now_ms;

/// How long a lease lasts; a delivery that takes longer may be repeated by another worker.
pub const LEASE_MS: i64 = 60_000;

/// Rows leased per round.
const BATCH: i64 = 16;

/// Delay before attempt `n + 1`: exponential from one second, capped at ten minutes, with up
/// to a quarter of random jitter so that retries of many rows spread out.
pub fn backoff_ms(attempts: i32, jitter_seed: u64) -> i64 {
    let base = 1_000i64.saturating_mul(1i64 << attempts.clamp(0, 20)).min(600_000);
    let jitter = (jitter_seed % 1_000) as i64 * base / 4_000;
    base + jitter
}

/// Leases up to [`BATCH`] due rows for `worker`.
pub async fn lease(db: &DatabaseConnection, worker: &str, now: i64) -> Result<Vec<outbox::Model>, ApiError> {
    let backend = db.get_database_backend();
    // Numbered placeholders on PostgreSQL, `?` on SQLite.
    let p = |n: usize| if backend == DbBackend::Postgres { format!("${n}") } else { "?".to_owned() };
    let lock = if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET status = 'delivering', lease_owner = {w}, lease_until = {until}, \
         attempts = attempts + 1, updated_at = {now} \
         WHERE id IN (SELECT id FROM outbox WHERE (status = 'pending' AND next_attempt_at <= {now2}) \
         OR (status = 'delivering' AND lease_until < {now3}) ORDER BY next_attempt_at LIMIT {limit}{lock}) \
         RETURNING id",
        w = p(1),
        until = p(2),
        now = p(3),
        now2 = p(4),
        now3 = p(5),
        limit = p(6),
    );
    let values = vec![worker.into(), (now + LEASE_MS).into(), now.into(), now.into(), now.into(), BATCH.into()];
    let txn = crate::db::write_txn(db).await?;
    let rows = txn.query_all_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await?;
    txn.commit().await?;
    let ids: Vec<String> = rows.iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(outbox::Entity::find().filter(outbox::Column::Id.is_in(ids)).all(db).await?)
}

/// One round: lease, deliver, record. Returns how many rows were delivered or settled.
pub async fn deliver_due(
    db: &DatabaseConnection,
    runner: &Runner,
    http: &reqwest::Client,
    worker: &str,
) -> Result<usize, ApiError> {
    let leased = lease(db, worker, now_ms()).await?;
    let count = leased.len();
    for row in leased {
        let started = now_ms();
        let found = connector::Entity::find()
            .filter(connector::Column::WorkspaceId.eq(row.workspace_id.as_str()))
            .filter(connector::Column::Name.eq(row.connector.as_str()))
            .one(db)
            .await?;
        let outcome = match found {
            Some(connector) => {
                connectors::deliver(http, &connector, &row.operation, &row.payload, &row.idempotency_key).await
            }
            None => Outcome::Failed(format!("there is no connector “{}”", row.connector)),
        };
        settle(db, runner, worker, &row, outcome, started).await?;
    }
    Ok(count)
}

/// Records the attempt and its consequence, if this worker still holds the lease.
async fn settle(
    db: &DatabaseConnection,
    runner: &Runner,
    worker: &str,
    row: &outbox::Model,
    outcome: Outcome,
    started: i64,
) -> Result<(), ApiError> {
    let worker = worker.to_owned();
    let row = row.clone();
    let runner = runner.clone();
    let workspace_id = row.workspace_id.clone();
    in_transaction(db, &workspace_id, move |txn, batch| {
        Box::pin(async move {
            let now = now_ms();
            let (status, outcome_name, error, result, next_attempt) = match &outcome {
                Outcome::Done(result) => ("done", "done", None, Some(result.clone()), now),
                Outcome::Failed(error) => ("failed", "failed", Some(error.clone()), None, now),
                Outcome::Retry(error) if row.attempts >= row.max_attempts => {
                    ("dead", "retry", Some(error.clone()), None, now)
                }
                Outcome::Retry(error) => {
                    let seed = uuid::Uuid::now_v7().as_u128() as u64;
                    ("pending", "retry", Some(error.clone()), None, now + backoff_ms(row.attempts - 1, seed))
                }
            };
            // Only the lease holder settles: a worker whose lease ran out lost the row.
            let updated = outbox::Entity::update_many()
                .col_expr(outbox::Column::Status, Expr::value(status))
                .col_expr(outbox::Column::LastError, Expr::value(error.clone()))
                .col_expr(outbox::Column::Result, Expr::value(result.clone()))
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(next_attempt))
                .col_expr(outbox::Column::LeaseOwner, Expr::value(Option::<String>::None))
                .col_expr(outbox::Column::LeaseUntil, Expr::value(Option::<i64>::None))
                .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
                .filter(outbox::Column::Id.eq(row.id.as_str()))
                .filter(outbox::Column::LeaseOwner.eq(worker.as_str()))
                .filter(outbox::Column::Status.eq("delivering"))
                .exec(txn)
                .await?;
            if updated.rows_affected != 1 {
                return Ok(());
            }
            outbox_attempt::Entity::insert(outbox_attempt::ActiveModel {
                outbox_id: Set(row.id.clone()),
                attempt: Set(row.attempts),
                started_at: Set(started),
                finished_at: Set(now),
                worker: Set(worker.clone()),
                outcome: Set(outcome_name.to_owned()),
                error: Set(error.clone()),
            })
            .exec(txn)
            .await?;
            let (Some(instance), Some(call)) = (&row.instance_id, row.call_no) else { return Ok(()) };
            let event = match status {
                "done" => EventKind::CallSucceeded { call: call as u64, result: result.unwrap_or(Value::Null) },
                "failed" => EventKind::CallFailed { call: call as u64, error: error.unwrap_or_default() },
                "dead" => EventKind::CallFailed {
                    call: call as u64,
                    error: format!("gave up after {} attempts: {}", row.attempts, error.unwrap_or_default()),
                },
                _ => return Ok(()),
            };
            // A refusal means the instance no longer waits for this call (withdrawn, say).
            let _ = runner.apply(txn, batch, instance, event, "outbox").await?;
            Ok(())
        })
    })
    .await
}

/// Runs [`deliver_due`] until `stop` says so, pausing briefly when there is nothing to do.
pub async fn run(
    db: DatabaseConnection,
    runner: Runner,
    http: reqwest::Client,
    worker: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let delivered = match deliver_due(&db, &runner, &http, &worker).await {
            Ok(n) => n,
            Err(error) => {
                tracing::error!(?error, "outbox round failed");
                0
            }
        };
        if delivered == 0 {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
                _ = stop.changed() => return,
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}
