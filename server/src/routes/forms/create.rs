//! `POST /api/v1/workspaces/{ws}/forms`: a new form from a draft definition.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::access::{Design, InWorkspace};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::db::entities::form;
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};
use crate::json::AppJson;
use crate::lang::Language;

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    AppJson(draft): AppJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = super::check_draft_shape(&draft)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let exists = form::Entity::find()
        .filter(form::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(form::Column::Key.eq(key.as_str()))
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Err(ApiError::new("already_exists", "a form with this key exists"));
    }
    let now = now_ms();
    let created = form::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(access.workspace.id.clone()),
        key: Set(key.clone()),
        draft: Set(draft),
        latest_version: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "form.create",
        object_type: "form",
        object_id: &created.id,
        changes: json!({"key": key}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(super::view(&created, lang))))
}
