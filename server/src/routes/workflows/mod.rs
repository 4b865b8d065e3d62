//! `/api/v1/workspaces/{ws}/workflows`: drafts and immutable published versions. Running
//! instances keep the version they started on.

pub mod publish;

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use engine::Lang;
use engine::form::Issue;
use engine::workflow::{CompiledWorkflow, parse_workflow};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::access::{Design, InWorkspace, Read};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::db::entities::workflow;
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};
use crate::json::AppJson;
use crate::lang::Language;

/// The draft's problems without a catalog (a draft may be unfinished; publishing checks
/// references too).
fn draft_issues(draft: &Value, lang: Lang) -> Vec<Issue> {
    let mut issues = match parse_workflow(draft) {
        Err(message) => vec![Issue::new("", engine::form::Code::InvalidDefinition).param("detail", message)],
        Ok(definition) => CompiledWorkflow::compile(definition, None).err().unwrap_or_default(),
    };
    engine::form::localize(&mut issues, lang);
    issues
}

fn view(row: &workflow::Model, lang: Lang) -> Value {
    json!({
        "key": row.key,
        "form": row.form_key,
        "draft": row.draft,
        "latest_version": row.latest_version,
        "issues": draft_issues(&row.draft, lang),
        "updated_at": row.updated_at,
    })
}

/// A draft must be an object with a valid `key` and the `form` it runs on.
fn draft_shape(draft: &Value) -> Result<(String, String), ApiError> {
    let text = |name: &str| draft.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (key, form) = (text("key"), text("form"));
    let valid = key.len() <= 64
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !draft.is_object() || !valid || form.is_empty() {
        return Err(ApiError::new(
            "bad_request",
            "a workflow definition is an object with a \"key\" (a-z, 0-9, _ and -) and the \"form\" it runs on",
        ));
    }
    Ok((key, form))
}

pub async fn load(db: &impl ConnectionTrait, workspace_id: &str, key: &str) -> Result<workflow::Model, ApiError> {
    workflow::Entity::find()
        .filter(workflow::Column::WorkspaceId.eq(workspace_id))
        .filter(workflow::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)
}

pub async fn list(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
) -> Result<Json<Value>, ApiError> {
    let rows = workflow::Entity::find()
        .filter(workflow::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .order_by_asc(workflow::Column::Key)
        .all(&state.db)
        .await?;
    Ok(Json(json!({"items": rows.iter().map(|r| view(r, lang)).collect::<Vec<_>>()})))
}

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let row = load(&state.db, &access.workspace.id, super::path_param(&params, "key")).await?;
    Ok(Json(view(&row, lang)))
}

pub async fn create(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    AppJson(draft): AppJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (key, form_key) = draft_shape(&draft)?;
    let txn = crate::db::write_txn(&state.db).await?;
    if load(&txn, &access.workspace.id, &key).await.is_ok() {
        return Err(ApiError::new("already_exists", "a workflow with this key exists"));
    }
    let now = now_ms();
    let created = workflow::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(access.workspace.id.clone()),
        key: Set(key.clone()),
        form_key: Set(form_key),
        draft: Set(draft),
        latest_version: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "workflow.create",
        object_type: "workflow",
        object_id: &created.id,
        changes: json!({"key": key}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(view(&created, lang))))
}

pub async fn save(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
    AppJson(draft): AppJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let key = super::path_param(&params, "key");
    let (draft_key, form_key) = draft_shape(&draft)?;
    if draft_key != key {
        return Err(ApiError::new("bad_request", "the draft's key must match the workflow's key"));
    }
    let txn = crate::db::write_txn(&state.db).await?;
    let row = load(&txn, &access.workspace.id, key).await?;
    let now = now_ms();
    let mut active: workflow::ActiveModel = row.clone().into();
    active.draft = Set(draft);
    active.form_key = Set(form_key);
    active.updated_at = Set(now);
    let saved = active.update(&txn).await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "workflow.save",
        object_type: "workflow",
        object_id: &row.id,
        changes: json!({"key": key}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok(Json(view(&saved, lang)))
}
