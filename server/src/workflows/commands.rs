//! Carrying out a step's commands inside the step's transaction: record writes now, external
//! calls and notifications as outbox rows that a worker delivers after commit.

use engine::form::RecordContext;
use engine::workflow::Command;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value, json};

use super::Runner;
use crate::audit::Entry;
use crate::db::entities::{connector, form, notification, outbox, record, user, workflow_instance};
use crate::db::group_commit::Batch;
use crate::error::ApiError;
use crate::identity::new_id;

/// How many times the outbox tries a call before marking it dead.
pub const MAX_ATTEMPTS: i32 = 8;

/// The connector that, when a workspace has one, also receives every notification.
pub const NOTIFY_CONNECTOR: &str = "notify";

pub struct Context<'a> {
    pub runner: &'a Runner,
    pub txn: &'a DatabaseTransaction,
    pub batch: &'a mut Batch,
    pub instance: &'a workflow_instance::Model,
    pub record: record::Model,
    pub now: i64,
}

/// A command that cannot be carried out, as (where, why): it fails the instance.
pub type Failure = (String, String);

impl Context<'_> {
    pub async fn execute(&mut self, commands: &[Command]) -> Result<Result<(), Failure>, ApiError> {
        for command in commands {
            let done = match command {
                Command::SetFields { values } => self.set_fields(values).await?,
                Command::CreateRecord { form, data } => self.create_record(form, data).await?,
                Command::Call { call, connector, operation, payload, idempotency_key } => {
                    enqueue(
                        self.txn,
                        &self.instance.workspace_id,
                        Some((&self.instance.id, *call)),
                        connector,
                        operation,
                        payload,
                        idempotency_key,
                        self.now,
                    )
                    .await?;
                    Ok(())
                }
                Command::Notify { users, message, node } => self.notify(users, message, node).await?,
            };
            if done.is_err() {
                return Ok(done);
            }
        }
        Ok(Ok(()))
    }

    async fn set_fields(&mut self, values: &Map<String, Value>) -> Result<Result<(), Failure>, ApiError> {
        let before = self.record.data.clone();
        let mut merged = before.as_object().cloned().unwrap_or_default();
        for (key, value) in values {
            if value.is_null() {
                merged.remove(key);
            } else {
                merged.insert(key.clone(), value.clone());
            }
        }
        let compiled = self.runner.forms.get(self.txn, &self.record.form_id, self.record.form_version).await?;
        let ctx = RecordContext {
            previous: Some(&before),
            today: Some(crate::clock::today_utc()),
            system: true,
            ..RecordContext::default()
        };
        let outcome = compiled.process_owned(Value::Object(merged), &ctx);
        if !outcome.is_valid() {
            let problems: Vec<String> = outcome.issues.iter().map(|i| format!("{} {}", i.path, i.message)).collect();
            return Ok(Err(("set".into(), format!("the record would become invalid: {}", problems.join("; ")))));
        }
        let after = outcome.record;
        let changes = crate::routes::records::diff(&before, &after);
        if !self.batch.restage_record_data(&self.record.id, after.clone()) {
            let ids = [self.record.id.clone()];
            let (workspace, form) = (&self.record.workspace_id, &self.record.form_id);
            let rollups = crate::reports::rollups::Maintained::load(self.txn, workspace, form).await?;
            rollups.apply(self.txn, &ids, -1).await?;
            let updated = record::Entity::update_many()
                .col_expr(record::Column::Data, Expr::value(after.clone()))
                .col_expr(record::Column::Version, Expr::value(self.record.version + 1))
                .col_expr(record::Column::UpdatedAt, Expr::value(self.now))
                .filter(record::Column::Id.eq(self.record.id.as_str()))
                .filter(record::Column::Version.eq(self.record.version))
                .exec(self.txn)
                .await?;
            if updated.rows_affected != 1 {
                return Err(ApiError::new("version_conflict", "the record changed meanwhile; try again"));
            }
            rollups.apply(self.txn, &ids, 1).await?;
            self.record.version += 1;
            self.record.updated_at = self.now;
        }
        self.record.data = after;
        let actor = format!("workflow:{}", self.instance.id);
        let entry = Entry {
            actor: &actor,
            action: "record.update",
            object_type: "record",
            object_id: &self.record.id,
            changes: changes.into(),
            reason: Some("workflow action"),
        };
        self.batch.audit.append(&self.instance.workspace_id, entry, self.now)?;
        Ok(Ok(()))
    }

    async fn create_record(&mut self, form_key: &str, data: &Value) -> Result<Result<(), Failure>, ApiError> {
        let workspace_id = self.instance.workspace_id.clone();
        let found = form::Entity::find()
            .filter(form::Column::WorkspaceId.eq(workspace_id.as_str()))
            .filter(form::Column::Key.eq(form_key))
            .one(self.txn)
            .await?;
        let Some((target, version)) = found.and_then(|f| f.latest_version.map(|v| (f, v))) else {
            return Ok(Err(("create_record".into(), format!("the form “{form_key}” has no published version"))));
        };
        let compiled = self.runner.forms.get(self.txn, &target.id, version).await?;
        let today = crate::clock::today_utc();
        let sequences = crate::routes::records::draw_numbers(
            self.txn,
            &mut self.batch.counters,
            &workspace_id,
            &target.id,
            &compiled,
            today,
        )
        .await?;
        let ctx =
            RecordContext { previous: None, today: Some(today), sequences, system: true, ..RecordContext::default() };
        let outcome = compiled.process_owned(data.clone(), &ctx);
        if !outcome.is_valid() {
            let problems: Vec<String> = outcome.issues.iter().map(|i| format!("{} {}", i.path, i.message)).collect();
            return Ok(Err((
                "create_record".into(),
                format!("the new {form_key} record is invalid: {}", problems.join("; ")),
            )));
        }
        let id = new_id();
        let unique: Vec<&str> = compiled.unique_fields().to_vec();
        let taken =
            crate::routes::records::unique::claim_fields(self.txn, &unique, &target.id, &id, &outcome.record).await?;
        if !taken.is_empty() {
            return Ok(Err(("create_record".into(), format!("the new {form_key} record repeats a unique value"))));
        }
        let actor = format!("workflow:{}", self.instance.id);
        let created = record::Model {
            id,
            workspace_id: workspace_id.clone(),
            form_id: target.id.clone(),
            form_version: version,
            data: outcome.record,
            version: 1,
            created_by: self.record.created_by.clone(),
            created_at: self.now,
            updated_at: self.now,
            deleted_at: None,
        };
        let entry = Entry {
            actor: &actor,
            action: "record.create",
            object_type: "record",
            object_id: &created.id,
            changes: crate::routes::records::diff(&Value::Null, &created.data).into(),
            reason: Some("workflow action"),
        };
        self.batch.audit.append(&workspace_id, entry, self.now)?;
        self.batch.stage_record(created.clone());
        // The new record's own workflows start too (an NCR's review, say) — one level deep,
        // so that workflows creating records of each other's forms cannot run away.
        if !self.runner.nested {
            let nested = Runner { nested: true, ..self.runner.clone() };
            Box::pin(nested.on_record_saved(self.txn, self.batch, form_key, &created, None)).await?;
        }
        Ok(Ok(()))
    }

    async fn notify(&mut self, users: &[String], message: &str, node: &str) -> Result<Result<(), Failure>, ApiError> {
        let rows: Vec<notification::ActiveModel> = users
            .iter()
            .map(|user| notification::ActiveModel {
                id: Set(new_id()),
                workspace_id: Set(self.instance.workspace_id.clone()),
                user_id: Set(user.clone()),
                instance_id: Set(Some(self.instance.id.clone())),
                node: Set(node.to_owned()),
                message: Set(Some(message.to_owned())),
                created_at: Set(self.now),
                read_at: Set(None),
            })
            .collect();
        if !rows.is_empty() {
            notification::Entity::insert_many(rows).exec(self.txn).await?;
        }
        let channel = connector::Entity::find()
            .filter(connector::Column::WorkspaceId.eq(self.instance.workspace_id.as_str()))
            .filter(connector::Column::Name.eq(NOTIFY_CONNECTOR))
            .one(self.txn)
            .await?;
        if channel.is_some() {
            // Addresses are read now, in the transaction, so the row holds what the channel needs.
            let recipients: Vec<Value> = user::Entity::find()
                .filter(user::Column::Id.is_in(users.iter().cloned()))
                .all(self.txn)
                .await?
                .into_iter()
                .map(|u| json!({"id": u.id, "username": u.username, "display_name": u.display_name, "email": u.email}))
                .collect();
            let payload = json!({"users": users, "recipients": recipients, "message": message, "node": node, "instance": self.instance.id, "record": self.record.id});
            let key = format!("{}/notify/{}", self.instance.id, new_id());
            enqueue(self.txn, &self.instance.workspace_id, None, NOTIFY_CONNECTOR, "notify", &payload, &key, self.now)
                .await?;
        }
        Ok(Ok(()))
    }
}

/// Writes (or, for a retried call with the same key, re-arms) an outbox row.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue(
    txn: &DatabaseTransaction,
    workspace_id: &str,
    call: Option<(&str, u64)>,
    connector: &str,
    operation: &str,
    payload: &Value,
    key: &str,
    now: i64,
) -> Result<(), ApiError> {
    let existing = outbox::Entity::find().filter(outbox::Column::IdempotencyKey.eq(key)).one(txn).await?;
    if let Some(row) = existing {
        // Attempts keep counting (each is recorded under its number); the retry gets a fresh
        // allowance of tries.
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value("pending"))
            .col_expr(outbox::Column::MaxAttempts, Expr::value(row.attempts + MAX_ATTEMPTS))
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
            .col_expr(outbox::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(outbox::Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
            .filter(outbox::Column::Id.eq(row.id.as_str()))
            .exec(txn)
            .await?;
        return Ok(());
    }
    let row = outbox::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        instance_id: Set(call.map(|(instance, _)| instance.to_owned())),
        call_no: Set(call.map(|(_, no)| no as i64)),
        connector: Set(connector.to_owned()),
        operation: Set(operation.to_owned()),
        payload: Set(payload.clone()),
        idempotency_key: Set(key.to_owned()),
        status: Set("pending".into()),
        attempts: Set(0),
        max_attempts: Set(MAX_ATTEMPTS),
        next_attempt_at: Set(now),
        lease_owner: Set(None),
        lease_until: Set(None),
        last_error: Set(None),
        result: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    outbox::Entity::insert(row).exec(txn).await?;
    Ok(())
}
