//! `/api/v1/workspaces/{ws}/connectors` (administrators): where workflow calls go. The secret
//! (a password or token) is write-only: no answer ever contains it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Admin, InWorkspace};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::db::entities::connector;
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};
use crate::json::AppJson;
use crate::workflows::connectors::check_config;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    name: String,
    kind: String,
    config: Value,
    #[serde(default)]
    secret: Option<String>,
}

fn view(row: &connector::Model) -> Value {
    json!({
        "name": row.name,
        "kind": row.kind,
        "config": row.config,
        "has_secret": row.secret.is_some(),
        "updated_at": row.updated_at,
    })
}

fn check(body: &Body) -> Result<(), ApiError> {
    let valid_name = !body.name.is_empty()
        && body.name.len() <= 64
        && body.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid_name {
        return Err(ApiError::new("bad_request", "a connector name holds a-z, 0-9, _ and - (at most 64)"));
    }
    check_config(&body.kind, &body.config).map_err(|message| ApiError::new("bad_request", message))
}

pub async fn list(State(state): State<AppState>, access: InWorkspace<Admin>) -> Result<Json<Value>, ApiError> {
    let rows = connector::Entity::find()
        .filter(connector::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .order_by_asc(connector::Column::Name)
        .all(&state.db)
        .await?;
    Ok(Json(json!({"items": rows.iter().map(view).collect::<Vec<_>>()})))
}

async fn audit_change(
    txn: &sea_orm::DatabaseTransaction,
    access: &InWorkspace<Admin>,
    row: &connector::Model,
    action: &str,
    now: i64,
) -> Result<(), ApiError> {
    // The audit trail notes that a secret changed, never the secret.
    let entry = Entry {
        actor: &access.caller.user.id,
        action,
        object_type: "connector",
        object_id: &row.id,
        changes: json!({"name": row.name, "kind": row.kind, "config": row.config, "secret_set": row.secret.is_some()})
            .into(),
        reason: None,
    };
    audit::append(txn, &access.workspace.id, entry, now).await?;
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    AppJson(body): AppJson<Body>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check(&body)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let exists = connector::Entity::find()
        .filter(connector::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(connector::Column::Name.eq(body.name.as_str()))
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Err(ApiError::new("already_exists", "a connector with this name exists"));
    }
    let now = now_ms();
    let row = connector::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(access.workspace.id.clone()),
        name: Set(body.name),
        kind: Set(body.kind),
        config: Set(body.config),
        secret: Set(body.secret),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit_change(&txn, &access, &row, "connector.create", now).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(view(&row))))
}

/// Replaces a connector's kind and config; the secret changes only when one is sent.
pub async fn update(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Path(params): Path<HashMap<String, String>>,
    AppJson(body): AppJson<Body>,
) -> Result<Json<Value>, ApiError> {
    check(&body)?;
    let name = crate::routes::path_param(&params, "name");
    if body.name != name {
        return Err(ApiError::new("bad_request", "the body's name must match the path"));
    }
    let txn = crate::db::write_txn(&state.db).await?;
    let row = connector::Entity::find()
        .filter(connector::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(connector::Column::Name.eq(name))
        .one(&txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let now = now_ms();
    let mut active: connector::ActiveModel = row.into();
    active.kind = Set(body.kind);
    active.config = Set(body.config);
    if body.secret.is_some() {
        active.secret = Set(body.secret);
    }
    active.updated_at = Set(now);
    let saved = active.update(&txn).await?;
    audit_change(&txn, &access, &saved, "connector.update", now).await?;
    txn.commit().await?;
    Ok(Json(view(&saved)))
}

/// `POST .../connectors/{name}/test`: can the connector be reached (and log in, for Tryton and
/// mail relays)? Nothing is delivered and nothing changes; the answer says what happened.
pub async fn test(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let name = crate::routes::path_param(&params, "name");
    let row = connector::Entity::find()
        .filter(connector::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(connector::Column::Name.eq(name))
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let started = std::time::Instant::now();
    let outcome = crate::workflows::connectors::test(&state.http, &row).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(Json(match outcome {
        Ok(message) => json!({"ok": true, "message": message, "elapsed_ms": elapsed_ms}),
        Err(message) => json!({"ok": false, "message": message, "elapsed_ms": elapsed_ms}),
    }))
}
