//! `GET/POST /api/v1/workspaces/{ws}/members` and `DELETE .../members/{username}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Admin, InWorkspace, Read};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::authz::{ROLES, is_role_name};
use crate::db::entities::{membership, user};
use crate::error::ApiError;
use crate::identity::{now_ms, users};
use crate::json::AppJson;

pub async fn list(State(state): State<AppState>, access: InWorkspace<Read>) -> Result<Json<Value>, ApiError> {
    let rows = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(access.workspace.id.clone()))
        .all(&state.db)
        .await?;
    let user_ids: Vec<String> = rows.iter().map(|m| m.user_id.clone()).collect();
    let users = user::Entity::find().filter(user::Column::Id.is_in(user_ids)).all(&state.db).await?;
    let mut items: Vec<Value> = rows
        .iter()
        .filter_map(|m| {
            let u = users.iter().find(|u| u.id == m.user_id)?;
            Some(json!({"id": u.id, "username": u.username, "display_name": u.display_name, "roles": m.roles}))
        })
        .collect();
    items.sort_by(|a, b| a["username"].as_str().cmp(&b["username"].as_str()));
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    username: String,
    roles: Vec<String>,
}

/// Adds a member or replaces their roles.
pub async fn put(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    AppJson(member): AppJson<SetMember>,
) -> Result<Json<Value>, ApiError> {
    let mut roles = member.roles.clone();
    roles.sort();
    roles.dedup();
    if roles.is_empty() || roles.len() > 32 || !roles.iter().all(|r| is_role_name(r)) {
        return Err(ApiError::new(
            "bad_request",
            format!("roles are 1 to 32 names of lowercase letters, digits, _ and -, such as {}", ROLES.join(", ")),
        ));
    }
    let user = users::find_by_username(&state.db, &member.username)
        .await?
        .ok_or_else(|| ApiError::new("not_found", "no such user"))?;
    let key = (access.workspace.id.clone(), user.id.clone());
    let txn = crate::db::write_txn(&state.db).await?;
    let now = now_ms();
    let before = match membership::Entity::find_by_id(key).one(&txn).await? {
        Some(existing) => {
            let before = existing.roles.clone();
            let mut active = existing.into_active_model();
            active.roles = Set(json!(roles));
            active.update(&txn).await?;
            before
        }
        None => {
            membership::ActiveModel {
                workspace_id: Set(access.workspace.id.clone()),
                user_id: Set(user.id.clone()),
                roles: Set(json!(roles)),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            Value::Null
        }
    };
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "member.set_roles",
        object_type: "user",
        object_id: &user.id,
        changes: json!({"roles": {"before": before, "after": roles}}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok(Json(json!({"username": user.username, "display_name": user.display_name, "roles": roles})))
}

pub async fn delete(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Path((_, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = users::find_by_username(&state.db, &username).await?.ok_or_else(ApiError::not_found)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let key = (access.workspace.id.clone(), user.id.clone());
    let existing = membership::Entity::find_by_id(key.clone()).one(&txn).await?.ok_or_else(ApiError::not_found)?;
    membership::Entity::delete_by_id(key).exec(&txn).await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "member.remove",
        object_type: "user",
        object_id: &user.id,
        changes: json!({"roles": {"before": existing.roles, "after": Value::Null}}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now_ms()).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
