//! The workflow runner (DESIGN §5): starts instances on triggers, applies events through the
//! pure engine, and carries out the commands in the same transaction as the new state —
//! record writes directly, external calls and notifications as outbox rows.
//!
//! Every change goes through a [`Batch`] so that audit entries join the workspace's hash
//! chain exactly like record submissions do (and a workflow started by a submission commits
//! in the submission's group transaction).

mod commands;
pub mod connectors;
pub mod outbox;
pub mod schedules;
pub mod smtp;
pub mod timers;
pub mod tryton;

pub use commands::{MAX_ATTEMPTS, enqueue};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use engine::workflow::{CompiledWorkflow, Event, EventKind, InstanceState, StepError, Trigger, parse_workflow, step};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::{Value, json};

use crate::audit::Entry;
use crate::db::entities::{membership, record, workflow_instance, workflow_task, workflow_timer, workflow_version};
use crate::db::group_commit::Batch;
use crate::error::ApiError;
use crate::forms_cache::FormsCache;
use crate::identity::{new_id, now_ms};

/// Compiled published versions, by (workflow id, version). Versions never change once
/// published, so entries never go stale.
#[derive(Default)]
pub struct WorkflowCache {
    compiled: Mutex<HashMap<(String, i32), Arc<CompiledWorkflow>>>,
}

impl WorkflowCache {
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        workflow_id: &str,
        version: i32,
    ) -> Result<Arc<CompiledWorkflow>, ApiError> {
        let key = (workflow_id.to_owned(), version);
        if let Some(found) = self.compiled.lock().map_err(|_| ApiError::internal("cache poisoned"))?.get(&key) {
            return Ok(found.clone());
        }
        let row = workflow_version::Entity::find_by_id(key.clone())
            .one(db)
            .await?
            .ok_or_else(|| ApiError::internal(format!("workflow version {workflow_id}/{version} is missing")))?;
        let definition = parse_workflow(&row.definition).map_err(ApiError::internal)?;
        let compiled = CompiledWorkflow::compile(definition, None)
            .map_err(|issues| ApiError::internal(format!("published workflow no longer compiles: {issues:?}")))?;
        let compiled = Arc::new(compiled);
        self.compiled.lock().map_err(|_| ApiError::internal("cache poisoned"))?.insert(key, compiled.clone());
        Ok(compiled)
    }
}

/// What the runner needs from the application.
#[derive(Clone)]
pub struct Runner {
    pub workflows: Arc<WorkflowCache>,
    pub forms: Arc<FormsCache>,
    /// Set while starting the workflows of a record a workflow action created.
    pub nested: bool,
}

/// Role name -> member user ids, for one workspace.
pub async fn role_members(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let members = membership::Entity::find().filter(membership::Column::WorkspaceId.eq(workspace_id)).all(db).await?;
    let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for member in members {
        for role in serde_json::from_value::<Vec<String>>(member.roles).unwrap_or_default() {
            roles.entry(role).or_default().push(member.user_id.clone());
        }
    }
    Ok(roles)
}

/// The record as rules see it: its data with `id`, `created_by`, `created_at`, `updated_at`
/// (milliseconds since the epoch) and `version`, as `engine::workflow` lets rules name them.
fn rule_view(record: &record::Model) -> Value {
    let mut view = record.data.clone();
    if let Some(map) = view.as_object_mut() {
        map.insert("id".into(), json!(record.id));
        map.insert("created_by".into(), json!(record.created_by));
        map.insert("created_at".into(), json!(record.created_at));
        map.insert("updated_at".into(), json!(record.updated_at));
        map.insert("version".into(), json!(record.version));
    }
    view
}

impl Runner {
    /// Starts every published workflow of the record's form whose trigger matches: a new
    /// record (`previous` is None) for `submitted`, a change of the field (to the value, if
    /// given) for `field_changed`.
    pub async fn on_record_saved(
        &self,
        txn: &DatabaseTransaction,
        batch: &mut Batch,
        form_key: &str,
        record: &record::Model,
        previous: Option<&Value>,
    ) -> Result<Vec<String>, ApiError> {
        let published = batch.workflows_of(txn, &record.workspace_id, form_key).await?;
        let mut started = Vec::new();
        for wf in published.iter() {
            let Some(version) = wf.latest_version else { continue };
            let compiled = self.workflows.get(txn, &wf.id, version).await?;
            let fires = match &compiled.definition.trigger {
                Trigger::Submitted => previous.is_none(),
                Trigger::FieldChanged { field, to } => previous.is_some_and(|before| {
                    let old = before.get(field);
                    let new = record.data.get(field);
                    old != new && to.as_ref().is_none_or(|wanted| new == Some(wanted))
                }),
                Trigger::Schedule { .. } => false,
            };
            if fires {
                started.push(self.start(txn, batch, &wf.id, version, record, &record.created_by).await?);
            }
        }
        Ok(started)
    }

    /// Starts one instance of a published workflow version on `record`.
    pub async fn start(
        &self,
        txn: &DatabaseTransaction,
        batch: &mut Batch,
        workflow_id: &str,
        version: i32,
        record: &record::Model,
        submitter: &str,
    ) -> Result<String, ApiError> {
        let id = new_id();
        let now = now_ms();
        let row = workflow_instance::Model {
            id: id.clone(),
            workspace_id: record.workspace_id.clone(),
            workflow_id: workflow_id.to_owned(),
            workflow_version: version,
            record_id: record.id.clone(),
            status: "running".into(),
            state: json!({}),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        workflow_instance::Entity::insert(workflow_instance::ActiveModel::from(row.clone())).exec(txn).await?;
        let kind = EventKind::Start { instance: id.clone(), submitter: submitter.to_owned() };
        match self.apply_loaded(txn, batch, row, Some(record.clone()), kind, submitter).await? {
            Ok(_) => Ok(id),
            Err(error) => Err(ApiError::internal(format!("a new instance refused its start: {error:?}"))),
        }
    }

    /// Applies `kind` to the instance `instance_id` (locked for the transaction). A refused
    /// event is `Ok(Err(..))` and changes nothing.
    pub async fn apply(
        &self,
        txn: &DatabaseTransaction,
        batch: &mut Batch,
        instance_id: &str,
        kind: EventKind,
        actor: &str,
    ) -> Result<Result<InstanceState, StepError>, ApiError> {
        let Some(row) = lock_instance(txn, instance_id).await? else {
            return Err(ApiError::not_found());
        };
        self.apply_loaded(txn, batch, row, None, kind, actor).await
    }

    async fn apply_loaded(
        &self,
        txn: &DatabaseTransaction,
        batch: &mut Batch,
        row: workflow_instance::Model,
        record: Option<record::Model>,
        kind: EventKind,
        actor: &str,
    ) -> Result<Result<InstanceState, StepError>, ApiError> {
        let compiled = self.workflows.get(txn, &row.workflow_id, row.workflow_version).await?;
        let record = match record {
            Some(record) => record,
            None => match batch.staged_record(&row.record_id) {
                Some(staged) => staged,
                None => record::Entity::find_by_id(row.record_id.as_str())
                    .one(txn)
                    .await?
                    .ok_or_else(|| ApiError::internal("the instance's record is gone"))?,
            },
        };
        let roles = role_members(txn, &row.workspace_id).await?;
        let state: InstanceState = if row.version == 0 {
            InstanceState::default()
        } else {
            serde_json::from_value(row.state.clone()).map_err(|e| ApiError::internal(format!("instance state: {e}")))?
        };
        let view = rule_view(&record);
        let now = now_ms();
        let event = Event { at: now, record: &view, roles: &roles, kind: kind.clone() };
        let (mut next, commands) = match step(&compiled, &state, &event) {
            Ok(done) => done,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut ctx = commands::Context { runner: self, txn, batch, instance: &row, record, now };
        if let Err(failure) = ctx.execute(&commands).await? {
            if matches!(kind, EventKind::Decide { .. }) {
                // A person's edits that would break the record are refused, not a failure of
                // the instance.
                return Err(ApiError::new("validation_failed", failure.1));
            }
            // A command the database refused (an invalid record to create, say) fails the
            // instance, like a failing rule does; nothing else of the step is kept.
            next = state.clone();
            next.fail(now, &failure.0, failure.1);
        }
        let event_name = serde_json::to_value(&kind).ok().and_then(|v| v.get("event").cloned()).unwrap_or(Value::Null);
        let entry = Entry {
            actor,
            action: "workflow.step",
            object_type: "workflow_instance",
            object_id: &row.id,
            changes: json!({"event": event_name, "status": next.status.name()}).into(),
            reason: None,
        };
        batch.audit.append(&row.workspace_id, entry, now)?;
        persist(txn, &row, &next, now).await?;
        Ok(Ok(next))
    }
}

/// The instance row, locked until the transaction ends (PostgreSQL; SQLite's write
/// transaction is exclusive already).
async fn lock_instance(txn: &DatabaseTransaction, id: &str) -> Result<Option<workflow_instance::Model>, ApiError> {
    let mut query = workflow_instance::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock(sea_orm::sea_query::LockType::NoKeyUpdate);
    }
    Ok(query.one(txn).await?)
}

/// Writes the new state, and the task and timer rows derived from it.
async fn persist(
    txn: &DatabaseTransaction,
    row: &workflow_instance::Model,
    state: &InstanceState,
    now: i64,
) -> Result<(), ApiError> {
    let updated = workflow_instance::Entity::update_many()
        .col_expr(workflow_instance::Column::State, Expr::value(serde_json::to_value(state).unwrap_or(Value::Null)))
        .col_expr(workflow_instance::Column::Status, Expr::value(state.status.name()))
        .col_expr(workflow_instance::Column::Version, Expr::value(row.version + 1))
        .col_expr(workflow_instance::Column::UpdatedAt, Expr::value(now))
        .filter(workflow_instance::Column::Id.eq(row.id.as_str()))
        .filter(workflow_instance::Column::Version.eq(row.version))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ApiError::new("version_conflict", "the workflow instance changed meanwhile; try again"));
    }
    workflow_task::Entity::delete_many()
        .filter(workflow_task::Column::InstanceId.eq(row.id.as_str()))
        .exec(txn)
        .await?;
    let tasks: Vec<workflow_task::ActiveModel> = state
        .tasks
        .iter()
        .map(|task| workflow_task::ActiveModel {
            instance_id: Set(row.id.clone()),
            task_no: Set(task.id as i64),
            workspace_id: Set(row.workspace_id.clone()),
            node: Set(task.node.clone()),
            assignee: Set(task.assignee.clone()),
            status: Set(serde_json::to_value(task.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()),
            due_at: Set(task.due_at),
            created_at: Set(task.created_at),
            decided_at: Set(task.decided_at),
        })
        .collect();
    if !tasks.is_empty() {
        workflow_task::Entity::insert_many(tasks).exec(txn).await?;
    }
    workflow_timer::Entity::delete_many()
        .filter(workflow_timer::Column::InstanceId.eq(row.id.as_str()))
        .exec(txn)
        .await?;
    let timers: Vec<workflow_timer::ActiveModel> = state
        .timers
        .iter()
        .map(|timer| workflow_timer::ActiveModel {
            instance_id: Set(row.id.clone()),
            timer_no: Set(timer.id as i64),
            workspace_id: Set(row.workspace_id.clone()),
            due_at: Set(timer.due_at),
        })
        .collect();
    if !timers.is_empty() {
        workflow_timer::Entity::insert_many(timers).exec(txn).await?;
    }
    Ok(())
}

/// Runs `work` in its own write transaction with an open audit batch, and commits.
pub async fn in_transaction<T, F>(db: &sea_orm::DatabaseConnection, workspace_id: &str, work: F) -> Result<T, ApiError>
where
    F: for<'t> FnOnce(
        &'t DatabaseTransaction,
        &'t mut Batch,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ApiError>> + Send + 't>>,
{
    let txn = crate::db::write_txn(db).await?;
    let mut batch = Batch::default();
    batch.audit.open(&txn, workspace_id).await?;
    let out = work(&txn, &mut batch).await?;
    batch.flush(&txn).await?;
    txn.commit().await?;
    Ok(out)
}
