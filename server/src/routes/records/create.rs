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
use engine::form::{CompiledForm, RecordContext};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::authz::Action;
use crate::db::entities::record;
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
    let form = crate::routes::forms::load(&state, &access, &state.db, key, Action::Create).await?;
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
    let submission = Submission {
        workspace_id: access.workspace.id.clone(),
        form_id: form.id.clone(),
        version,
        user_id: access.caller.user.id.clone(),
        compiled,
        input,
        lang,
    };
    let created = state.writes.run(move |txn| Box::pin(submission.store(txn))).await?;
    state.metrics.records_created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok((StatusCode::CREATED, Json(super::masked_view(&created, &form.key, &mask))))
}

/// Everything a submission needs inside the writer, owned.
struct Submission {
    workspace_id: String,
    form_id: String,
    version: i32,
    user_id: String,
    compiled: Arc<CompiledForm>,
    input: Value,
    lang: Lang,
}

impl Submission {
    /// Numbers, validates, stores, claims and audits — in the caller's transaction (a
    /// savepoint of the group commit), so that a refusal takes its counter increments back
    /// and numbers stay gapless.
    async fn store(self, txn: &DatabaseTransaction) -> Result<record::Model, ApiError> {
        let today = crate::clock::today_utc();
        let mut sequences = BTreeMap::new();
        for (field, pattern) in self.compiled.auto_numbers() {
            let counter = format!("{}:{}:{}", self.form_id, field, pattern.scope(today));
            sequences.insert(field.to_owned(), super::next_counter(txn, &self.workspace_id, &counter).await?);
        }
        let ctx = RecordContext { lang: self.lang, previous: None, today: Some(today), sequences };
        let outcome = self.compiled.process_owned(self.input, &ctx);
        if !outcome.is_valid() {
            return Err(ApiError::new("validation_failed", "the record has problems")
                .with_details(json!({"errors": outcome.issues})));
        }
        let now = now_ms();
        let created = record::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.workspace_id.clone()),
            form_id: Set(self.form_id.clone()),
            form_version: Set(self.version),
            data: Set(outcome.record),
            version: Set(1),
            created_by: Set(self.user_id.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        }
        .insert(txn)
        .await?;
        let taken = super::unique::claim(txn, &self.compiled, &self.form_id, &created.id, &created.data).await?;
        if !taken.is_empty() {
            return Err(super::rejected(taken, self.lang));
        }
        let entry = Entry {
            actor: &self.user_id,
            action: "record.create",
            object_type: "record",
            object_id: &created.id,
            changes: super::diff(&Value::Null, &created.data),
            reason: None,
        };
        audit::append(txn, &self.workspace_id, entry, now).await?;
        Ok(created)
    }
}
