//! API tokens for integrations: `POST /api/v1/auth/tokens {workspace, name, expires_in_days?}`
//! (the token is shown once), `GET /api/v1/auth/tokens`, `DELETE /api/v1/auth/tokens/{id}`.
//! Tokens are managed with a browser session only, so a token cannot mint more tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::roles_in;
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, TOKEN_PREFIX};
use crate::db::entities::{api_token, workspace};
use crate::error::ApiError;
use crate::identity::{new_id, new_secret, now_ms, secret_hash};
use crate::json::AppJson;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    workspace: String,
    name: String,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

fn session_only(caller: &Caller) -> Result<(), ApiError> {
    match caller.token_workspace() {
        Some(_) => Err(ApiError::new("forbidden", "tokens are managed from a logged-in session")),
        None => Ok(()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(new): AppJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    session_only(&caller)?;
    let days = new.expires_in_days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(ApiError::new("bad_request", "a token expires in 1 to 365 days"));
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::new("bad_request", "a token name is 1 to 100 characters"));
    }
    let ws = workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(new.workspace.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    // A token acts with its owner's roles in that workspace: no membership, no token.
    if roles_in(&state, &caller.user.id, &ws.id).await?.is_empty() {
        return Err(ApiError::not_found());
    }
    let token = format!("{TOKEN_PREFIX}{}", new_secret());
    let now = now_ms();
    let expires_at = now + i64::from(days) * 86_400_000;
    let txn = crate::db::write_txn(&state.db).await?;
    let created = api_token::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(ws.id.clone()),
        user_id: Set(caller.user.id.clone()),
        name: Set(name.to_owned()),
        token_hash: Set(secret_hash(&token)),
        created_at: Set(now),
        expires_at: Set(Some(expires_at)),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        actor: &caller.user.id,
        action: "token.create",
        object_type: "api_token",
        object_id: &created.id,
        changes: json!({"name": name, "expires_at": expires_at}).into(),
        reason: None,
    };
    audit::append(&txn, &ws.id, entry, now).await?;
    txn.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": created.id, "name": name, "workspace": ws.slug, "token": token, "expires_at": expires_at})),
    ))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    session_only(&caller)?;
    let tokens = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(caller.user.id.as_str()))
        .order_by_asc(api_token::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let items: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"id": t.id, "name": t.name, "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at}))
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    session_only(&caller)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let found = api_token::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|t| t.user_id == caller.user.id && t.revoked_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    let now = now_ms();
    let (token_id, workspace_id) = (found.id.clone(), found.workspace_id.clone());
    let mut active = found.into_active_model();
    active.revoked_at = Set(Some(now));
    active.update(&txn).await?;
    let entry = Entry {
        actor: &caller.user.id,
        action: "token.revoke",
        object_type: "api_token",
        object_id: &token_id,
        changes: json!({}).into(),
        reason: None,
    };
    audit::append(&txn, &workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
