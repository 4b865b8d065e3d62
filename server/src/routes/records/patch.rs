//! `PATCH /api/v1/workspaces/{ws}/records/{id}` `{data, version?, reason?}` with `If-Match`:
//! merges `data` into the record (a `null` removes a field), validates it on the record's own
//! form version, and saves only if nobody saved in between (409 otherwise).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use engine::form::RecordContext;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::audit::Entry;
use crate::authz::Action;
use crate::db::entities::record;
use crate::error::ApiError;
use crate::identity::now_ms;
use crate::json::AppJson;
use crate::lang::Language;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    data: Map<String, Value>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    reason: Option<String>,
}

/// The version the client last saw: `If-Match: "3"` (or `W/"3"`, or `3`), else the body's.
fn expected_version(headers: &HeaderMap, body: Option<i32>) -> Result<i32, ApiError> {
    match headers.get(axum::http::header::IF_MATCH) {
        Some(value) => value
            .to_str()
            .ok()
            .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiError::new("bad_request", "If-Match must hold the record's version, e.g. \"3\"")),
        None => {
            body.ok_or_else(|| ApiError::new("bad_request", "send the version you edited: If-Match or \"version\""))
        }
    }
}

pub async fn patch(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    headers: HeaderMap,
    Path(params): Path<HashMap<String, String>>,
    AppJson(patch): AppJson<Patch>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    let expected = expected_version(&headers, patch.version)?;
    let current = super::load(&state, &access, &state.db, id, Action::Update, false).await?;
    if current.version != expected {
        return Err(conflict(current.version));
    }
    let (form, mask) = super::form_and_mask(&state, &access, &current.form_id).await?;
    let refused = mask.edit_issues(&patch.data, current.data.as_object());
    if !refused.is_empty() {
        return Err(super::rejected(refused, lang));
    }
    let mut merged = current.data.as_object().cloned().unwrap_or_default();
    for (key, value) in patch.data {
        if value.is_null() {
            merged.remove(&key);
        } else {
            merged.insert(key, value);
        }
    }
    let compiled = state.forms.get(&state.db, &current.form_id, current.form_version).await?;
    let today = crate::clock::today_utc();
    let ctx = RecordContext { lang, previous: Some(&current.data), today: Some(today), ..RecordContext::default() };
    let outcome = compiled.process_owned(Value::Object(merged), &ctx);
    if !outcome.is_valid() {
        return Err(ApiError::new("validation_failed", "the record has problems")
            .with_details(json!({"errors": outcome.issues})));
    }
    let files = crate::routes::attachments::referenced(&compiled, &outcome.record);
    let refused = crate::routes::attachments::check(
        &state.db,
        &access.workspace.id,
        &access.caller.user.id,
        Some(&current.id),
        &files,
    )
    .await?;
    if !refused.is_empty() {
        return Err(super::rejected(refused, lang));
    }
    let changes = super::diff(&current.data, &outcome.record);
    let now = now_ms();
    let txn = crate::db::write_txn(&state.db).await?;
    crate::routes::attachments::link(&txn, &access.workspace.id, &current.id, &files).await?;
    let ids = [current.id.clone()];
    let rollups = crate::reports::rollups::Maintained::load(&txn, &access.workspace.id, &current.form_id).await?;
    rollups.apply(&txn, &ids, -1).await?;
    // Compare-and-set on the version: of two edits of the same version exactly one wins.
    let updated = record::Entity::update_many()
        .col_expr(record::Column::Data, Expr::value(outcome.record.clone()))
        .col_expr(record::Column::Version, Expr::value(current.version + 1))
        .col_expr(record::Column::UpdatedAt, Expr::value(now))
        .filter(record::Column::Id.eq(current.id.as_str()))
        .filter(record::Column::Version.eq(current.version))
        .filter(record::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(conflict(current.version + 1));
    }
    rollups.apply(&txn, &ids, 1).await?;
    if !compiled.unique_fields().is_empty() {
        super::unique::release(&txn, &current.id).await?;
        let taken = super::unique::claim(&txn, &compiled, &current.form_id, &current.id, &outcome.record).await?;
        if !taken.is_empty() {
            return Err(super::rejected(taken, lang));
        }
    }
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "record.update",
        object_type: "record",
        object_id: &current.id,
        changes: changes.into(),
        reason: patch.reason.as_deref(),
    };
    let mut batch = crate::db::group_commit::Batch::default();
    batch.audit.open(&txn, &access.workspace.id).await?;
    batch.audit.append(&access.workspace.id, entry, now)?;
    let previous = current.data.clone();
    let saved = record::Model { data: outcome.record, version: current.version + 1, updated_at: now, ..current };
    // `field_changed` triggers; an action they run may write the record again.
    let started = state.runner.on_record_saved(&txn, &mut batch, &form.key, &saved, Some(&previous)).await?;
    batch.flush(&txn).await?;
    let saved = if started.is_empty() {
        saved
    } else {
        record::Entity::find_by_id(saved.id.as_str()).one(&txn).await?.unwrap_or(saved)
    };
    txn.commit().await?;
    Ok(Json(super::masked_view(&saved, &form.key, &mask)))
}

fn conflict(current: i32) -> ApiError {
    ApiError::new("version_conflict", "the record was changed since you loaded it; reload and edit again")
        .with_details(json!({"current_version": current}))
}
