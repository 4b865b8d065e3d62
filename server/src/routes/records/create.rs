//! `POST /api/v1/workspaces/{ws}/forms/{form}/records`: submits a record on the form's latest
//! version — validated, computed fields filled, auto-numbers assigned, unique values claimed —
//! and audits it. The database work runs in the group-commit writer (`db/group_commit.rs`):
//! one transaction per batch of concurrent submissions, acknowledged only after it commits.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use engine::Lang;
use engine::form::{CompiledForm, Date, FieldMask, RecordContext};
use sea_orm::DatabaseTransaction;
use serde_json::{Value, json};

use crate::access::{ActionKind, InWorkspace, Read};
use crate::app::AppState;
use crate::audit::{Changes, CreatedChanges, Entry};
use crate::authz::Action;
use crate::db::entities::record;
use crate::db::group_commit::Batch;
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};
use crate::json::AppJson;
use crate::lang::Language;

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
    AppJson(input): AppJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = crate::routes::path_param(&params, "form");
    let (created, form_key, mask) = submit(&state, &access, key, input, lang).await?;
    Ok((StatusCode::CREATED, Json(super::masked_view(&created, &form_key, &mask))))
}

/// Submits a record of form `key` as the caller (permissions, field access, validation,
/// numbers, workflows, one durable group commit); the handler above and server-side
/// generators (monthly scorecards) share it. Returns the record, the form key and the
/// caller's field mask.
pub async fn submit<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    key: &str,
    input: Value,
    lang: Lang,
) -> Result<(record::Model, String, FieldMask), ApiError> {
    let form = crate::routes::forms::latest(state, access, key, Action::Create).await?;
    let version =
        form.latest_version.ok_or_else(|| ApiError::new("conflict", "the form has no published version yet"))?;
    let compiled = state.forms.get(&state.db, &form.id, version).await?;
    let mask = access.field_mask(&compiled);
    if let Some(submitted) = input.as_object() {
        let refused = mask.edit_issues(submitted, None);
        if !refused.is_empty() {
            return Err(super::rejected(refused, lang));
        }
    }
    // Validated here, concurrently, so the writer only numbers and stores. Forms whose rules
    // read their own auto-numbers are processed again inside the writer, with the numbers.
    let today = crate::clock::today_utc();
    let numbers_first = compiled.rules_read_auto_numbers();
    let raw = numbers_first.then(|| input.clone());
    let ctx = RecordContext { lang, previous: None, today: Some(today), sequences: BTreeMap::new(), system: false };
    let outcome = compiled.process_owned(input, &ctx);
    if !outcome.is_valid() {
        return Err(ApiError::new("validation_failed", "the record has problems")
            .with_details(json!({"errors": outcome.issues})));
    }
    let files = crate::routes::attachments::referenced(&compiled, &outcome.record);
    let refused =
        crate::routes::attachments::check(&state.db, &access.workspace.id, &access.caller.user.id, None, &files)
            .await?;
    if !refused.is_empty() {
        return Err(super::rejected(refused, lang));
    }
    // Written out here too, where requests run side by side: the writer then only adds the
    // auto-numbers it draws to the texts, instead of copying and serializing the record.
    let finish = match raw {
        Some(raw) => Finish::Again(raw),
        None => Finish::Written { text: outcome.record.to_string(), changes: CreatedChanges::of(&outcome.record) },
    };
    let submission = Submission {
        id: new_id(),
        finish,
        files,
        workspace_id: access.workspace.id.clone(),
        form_id: form.id.clone(),
        version,
        user_id: access.caller.user.id.clone(),
        compiled,
        data: outcome.record,
        today,
        lang,
        runner: state.runner.clone(),
        form_key: form.key.clone(),
    };
    let workspace_id = access.workspace.id.clone();
    let created = state.writes.run(&workspace_id, move |txn, batch| Box::pin(submission.store(txn, batch))).await?;
    state.metrics.records_created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok((created, form.key, mask))
}

/// How the writer finishes a record once its numbers are drawn.
enum Finish {
    /// Processes the submitted record again, with its numbers (its rules read them).
    Again(Value),
    /// Adds the numbers to the processed record, written out as JSON before they were drawn:
    /// its data and its audit entry's changes.
    Written { text: String, changes: CreatedChanges },
}

/// Everything a submission needs inside the writer, owned.
struct Submission {
    id: String,
    finish: Finish,
    /// The attachments the record refers to, linked to it in the same transaction.
    files: Vec<(String, String)>,
    workspace_id: String,
    form_id: String,
    version: i32,
    user_id: String,
    compiled: Arc<CompiledForm>,
    /// The processed record, without its auto-numbers.
    data: Value,
    today: Date,
    lang: Lang,
    /// Starts the form's workflows in the same transaction.
    runner: crate::workflows::Runner,
    form_key: String,
}

impl Submission {
    /// Claims unique values, draws numbers, and stages the record and its audit entry in the
    /// group transaction. Once a number is drawn nothing can fail, so numbers stay gapless.
    async fn store(self, txn: &DatabaseTransaction, batch: &mut Batch) -> Result<record::Model, ApiError> {
        let id = self.id;
        let autos: Vec<&str> = self.compiled.auto_numbers().into_iter().map(|(key, _)| key).collect();
        let unique = self.compiled.unique_fields();
        let (early, late): (Vec<&str>, Vec<&str>) = unique.iter().partition(|key| !autos.contains(key));
        let taken = super::unique::claim_fields(txn, &early, &self.form_id, &id, &self.data).await?;
        if !taken.is_empty() {
            return Err(super::rejected(taken, self.lang));
        }
        crate::routes::attachments::link(txn, &self.workspace_id, &id, &self.files).await?;
        let sequences = super::draw_numbers(
            txn,
            &mut batch.counters,
            &self.workspace_id,
            &self.form_id,
            &self.compiled,
            self.today,
        )
        .await?;
        let (data, text, changes) = match self.finish {
            Finish::Again(raw) => {
                let ctx = RecordContext {
                    lang: self.lang,
                    previous: None,
                    today: Some(self.today),
                    sequences,
                    system: false,
                };
                let outcome = self.compiled.process_owned(raw, &ctx);
                if !outcome.is_valid() {
                    return Err(ApiError::internal("a record valid without its numbers is invalid with them"));
                }
                let changes = CreatedChanges::of(&outcome.record);
                (outcome.record, None, changes)
            }
            Finish::Written { mut text, mut changes } => {
                let mut data = self.data;
                let numbers = self.compiled.auto_number_values(&data, self.today, &sequences);
                let Some(fields) = data.as_object_mut() else {
                    return Err(ApiError::internal("a processed record is not an object"));
                };
                for (key, value) in numbers {
                    add_field(&mut text, key, &value);
                    changes.add(key, &value);
                    fields.insert(key.to_owned(), value);
                }
                (data, Some(text), changes)
            }
        };
        // An auto-number marked unique repeats only if its pattern does (say, a sequence
        // without the year that restarts yearly); that conflict fails the whole batch.
        if !late.is_empty() {
            let taken = super::unique::claim_fields(txn, &late, &self.form_id, &id, &data).await?;
            if !taken.is_empty() {
                return Err(ApiError::internal(format!("auto-number of form {} repeated", self.form_id)));
            }
        }
        let now = now_ms();
        let created = record::Model {
            id,
            workspace_id: self.workspace_id,
            form_id: self.form_id,
            form_version: self.version,
            data,
            version: 1,
            created_by: self.user_id,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let entry = Entry {
            actor: &created.created_by,
            action: "record.create",
            object_type: "record",
            object_id: &created.id,
            changes: Changes::Created(changes),
            reason: None,
        };
        batch.audit.append(&created.workspace_id, entry, now)?;
        let text = text.unwrap_or_else(|| created.data.to_string());
        batch.stage_record_text(without_data(&created), text);
        let started = self.runner.on_record_saved(txn, batch, &self.form_key, &created, None).await?;
        if started.is_empty() {
            return Ok(created);
        }
        // A workflow's first actions may have written the record already.
        Ok(batch.staged_record(&created.id).unwrap_or(created))
    }
}

/// Adds `key: value` at the end of a JSON object written out by `serde_json` (which ends
/// with its closing brace).
fn add_field(object: &mut String, key: &str, value: &Value) {
    object.pop();
    if object.len() > 1 {
        object.push(',');
    }
    object.push_str(&Value::from(key).to_string());
    object.push(':');
    object.push_str(&value.to_string());
    object.push('}');
}

/// A copy of the record's columns, its data left out (`null`).
fn without_data(record: &record::Model) -> record::Model {
    record::Model {
        id: record.id.clone(),
        workspace_id: record.workspace_id.clone(),
        form_id: record.form_id.clone(),
        form_version: record.form_version,
        data: Value::Null,
        version: record.version,
        created_by: record.created_by.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
        deleted_at: record.deleted_at,
    }
}
