//! Schedule triggers: every `every`, one instance per record of the form that the trigger's
//! `when` picks (all records without one). A record whose instance of the same workflow is
//! still open is skipped, so a slow approval does not pile up copies of itself.
//!
//! A round walks the records in id order, a page per transaction; the page's instances and
//! the schedule's new cursor commit together, and each page re-checks the cursor it started
//! from, so two processes never start the same page twice and a crash resumes at the next
//! page. Missed rounds (the server was down) collapse into one.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Runner, in_transaction, rule_view};
use crate::db::entities::{form, record, workflow, workflow_instance, workflow_schedule};
use crate::db::group_commit::Batch;
use crate::error::ApiError;

/// Records handled per transaction.
const PAGE: u64 = 200;

/// Schedules (or unschedules) a workflow when a version is published: the first round is
/// due one interval after publishing. A round in progress ends with the old version.
pub async fn on_publish(
    txn: &impl ConnectionTrait,
    workflow: &workflow::Model,
    every: Option<i64>,
    now: i64,
) -> Result<(), ApiError> {
    workflow_schedule::Entity::delete_by_id(workflow.id.clone()).exec(txn).await?;
    if let Some(every) = every {
        let row = workflow_schedule::Model {
            workflow_id: workflow.id.clone(),
            workspace_id: workflow.workspace_id.clone(),
            next_at: now + every,
            cursor: None,
        };
        workflow_schedule::Entity::insert(workflow_schedule::ActiveModel::from(row)).exec(txn).await?;
    }
    Ok(())
}

/// Runs every round due at `now` to its end; returns how many instances it started.
pub async fn fire_due(db: &DatabaseConnection, runner: &Runner, now: i64) -> Result<usize, ApiError> {
    let due = workflow_schedule::Entity::find()
        .filter(workflow_schedule::Column::NextAt.lte(now))
        .order_by_asc(workflow_schedule::Column::NextAt)
        .limit(100)
        .all(db)
        .await?;
    let mut started = 0;
    for schedule in due {
        let mut seen = schedule;
        loop {
            let runner = runner.clone();
            let expected = seen.clone();
            let page = in_transaction(db, &seen.workspace_id, move |txn, batch| {
                Box::pin(async move { page(txn, batch, &runner, &expected, now).await })
            })
            .await?;
            match page {
                Some((count, next)) => {
                    started += count;
                    match next {
                        Some(next) => seen = next,
                        None => break,
                    }
                }
                // Another process moved the round on, or the workflow was unpublished.
                None => break,
            }
        }
    }
    Ok(started)
}

/// One page of a round. None when the schedule is not as `expected` (someone else ran this
/// page); otherwise the instances started and the schedule if the round goes on.
async fn page(
    txn: &DatabaseTransaction,
    batch: &mut Batch,
    runner: &Runner,
    expected: &workflow_schedule::Model,
    now: i64,
) -> Result<Option<(usize, Option<workflow_schedule::Model>)>, ApiError> {
    let mut lock = workflow_schedule::Entity::find_by_id(expected.workflow_id.clone());
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        lock = lock.lock_exclusive();
    }
    let Some(current) = lock.one(txn).await? else { return Ok(None) };
    if current.next_at > now || current.cursor != expected.cursor || current.next_at != expected.next_at {
        return Ok(None);
    }
    let Some(wf) = workflow::Entity::find_by_id(current.workflow_id.clone()).one(txn).await? else {
        return Ok(None);
    };
    let Some(version) = wf.latest_version else { return Ok(None) };
    let compiled = runner.workflows.get(txn, &wf.id, version).await?;
    let Some(every) = compiled.schedule_every() else { return Ok(None) };
    let form_row = form::Entity::find()
        .filter(form::Column::WorkspaceId.eq(wf.workspace_id.as_str()))
        .filter(form::Column::Key.eq(wf.form_key.as_str()))
        .one(txn)
        .await?;
    let mut records = Vec::new();
    if let Some(form_row) = form_row {
        let mut query = record::Entity::find()
            .filter(record::Column::WorkspaceId.eq(wf.workspace_id.as_str()))
            .filter(record::Column::FormId.eq(form_row.id.as_str()))
            .filter(record::Column::DeletedAt.is_null());
        if let Some(cursor) = &current.cursor {
            query = query.filter(record::Column::Id.gt(cursor.as_str()));
        }
        records = query.order_by_asc(record::Column::Id).limit(PAGE).all(txn).await?;
    }
    let open: std::collections::HashSet<String> = if records.is_empty() {
        Default::default()
    } else {
        workflow_instance::Entity::find()
            .select_only()
            .column(workflow_instance::Column::RecordId)
            .filter(workflow_instance::Column::WorkflowId.eq(wf.id.as_str()))
            .filter(workflow_instance::Column::RecordId.is_in(records.iter().map(|r| r.id.clone())))
            .filter(workflow_instance::Column::Status.is_in(["running", "blocked"]))
            .into_tuple::<String>()
            .all(txn)
            .await?
            .into_iter()
            .collect()
    };
    let mut started = 0;
    for record in &records {
        if open.contains(&record.id) {
            continue;
        }
        match compiled.scheduled_for(&rule_view(record)) {
            Ok(true) => {
                runner.start(txn, batch, &wf.id, version, record, &record.created_by).await?;
                started += 1;
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(workflow = %wf.key, record = %record.id, %error, "schedule rule failed; record skipped");
            }
        }
    }
    let (cursor, next_at) = if records.len() as u64 == PAGE {
        (records.last().map(|r| r.id.clone()), current.next_at)
    } else {
        // The round is over: the next one is the first interval boundary after now.
        let missed = (now - current.next_at).div_euclid(every) + 1;
        (None, current.next_at + missed * every)
    };
    workflow_schedule::Entity::update_many()
        .col_expr(workflow_schedule::Column::Cursor, Expr::value(cursor.clone()))
        .col_expr(workflow_schedule::Column::NextAt, Expr::value(next_at))
        .filter(workflow_schedule::Column::WorkflowId.eq(current.workflow_id.as_str()))
        .exec(txn)
        .await?;
    let next = cursor.map(|cursor| workflow_schedule::Model { cursor: Some(cursor), next_at, ..current });
    Ok(Some((started, next)))
}

pub async fn run(db: DatabaseConnection, runner: Runner, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(error) = fire_due(&db, &runner, crate::identity::now_ms()).await {
            tracing::error!(?error, "schedule round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
