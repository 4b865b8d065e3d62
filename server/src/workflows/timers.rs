//! The timer worker: due rows of `workflow_timers` become `TimerFired` events. Each firing
//! runs in its own transaction with the instance locked; a timer another process fired first
//! is no longer in the instance's state and the engine refuses it as stale, so nothing fires
//! twice.

use engine::workflow::EventKind;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Runner, in_transaction};
use crate::db::entities::workflow_timer;
use crate::error::ApiError;

/// Fires every timer due at `now` (up to a hundred per round); returns how many it fired.
pub async fn fire_due(db: &DatabaseConnection, runner: &Runner, now: i64) -> Result<usize, ApiError> {
    let due = workflow_timer::Entity::find()
        .filter(workflow_timer::Column::DueAt.lte(now))
        .order_by_asc(workflow_timer::Column::DueAt)
        .limit(100)
        .all(db)
        .await?;
    let mut fired = 0;
    for timer in due {
        let runner = runner.clone();
        let instance = timer.instance_id.clone();
        let number = timer.timer_no as u64;
        let applied = in_transaction(db, &timer.workspace_id, move |txn, batch| {
            Box::pin(async move {
                runner.apply(txn, batch, &instance, EventKind::TimerFired { timer: number }, "timer").await
            })
        })
        .await?;
        if applied.is_ok() {
            fired += 1;
        }
    }
    Ok(fired)
}

pub async fn run(db: DatabaseConnection, runner: Runner, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(error) = fire_due(&db, &runner, crate::identity::now_ms()).await {
            tracing::error!(?error, "timer round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
