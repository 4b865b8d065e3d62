//! `POST /api/v1/workspaces/{ws}/forms/{form}/records`: submits a record on the form's latest
//! version — validated, computed fields filled, auto-numbers assigned — and audits it, all in
//! one transaction.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use engine::form::RecordContext;
use sea_orm::{ActiveModelTrait, Set};
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
    let txn = crate::db::write_txn(&state.db).await?;
    let today = crate::clock::today_utc();
    let mut sequences = BTreeMap::new();
    for (field, pattern) in compiled.auto_numbers() {
        let counter = format!("{}:{}:{}", form.id, field, pattern.scope(today));
        sequences.insert(field.to_owned(), super::next_counter(&txn, &access.workspace.id, &counter).await?);
    }
    let ctx = RecordContext { lang, previous: None, today: Some(today), sequences };
    let outcome = compiled.process_owned(input, &ctx);
    if !outcome.is_valid() {
        // Dropping the transaction rolls the counters back: numbers stay gapless.
        return Err(ApiError::new("validation_failed", "the record has problems")
            .with_details(json!({"errors": outcome.issues})));
    }
    let now = now_ms();
    let created = record::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(access.workspace.id.clone()),
        form_id: Set(form.id.clone()),
        form_version: Set(version),
        data: Set(outcome.record),
        version: Set(1),
        created_by: Set(access.caller.user.id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let taken = super::unique::claim(&txn, &compiled, &form.id, &created.id, &created.data).await?;
    if !taken.is_empty() {
        return Err(super::rejected(taken, lang));
    }
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "record.create",
        object_type: "record",
        object_id: &created.id,
        changes: super::diff(&Value::Null, &created.data),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    state.metrics.records_created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok((StatusCode::CREATED, Json(super::masked_view(&created, &form.key, &mask))))
}
