//! `POST /api/v1/workspaces {slug, name}`: installation administrators create workspaces and
//! become their first admin member.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::auth::Caller;
use crate::db::entities::{membership, workspace};
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};
use crate::json::AppJson;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    slug: String,
    name: String,
    /// Minutes east of UTC (480 for China), for reports by local date.
    #[serde(default)]
    utc_offset_minutes: Option<i32>,
}

/// A slug: a lowercase letter, then lowercase letters, digits and `-`; 2 to 63 characters.
pub fn valid_slug(slug: &str) -> bool {
    let mut chars = slug.chars();
    (2..=63).contains(&slug.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(new): AppJson<NewWorkspace>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !caller.user.is_admin || caller.token_workspace().is_some() {
        return Err(ApiError::new("forbidden", "only installation administrators create workspaces"));
    }
    if !valid_slug(&new.slug) {
        return Err(ApiError::new("bad_request", "a slug is 2-63 characters: a-z first, then a-z, 0-9 or '-'"));
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::new("bad_request", "a name is 1 to 200 characters"));
    }
    if new.utc_offset_minutes.is_some_and(|m| !(-720..=840).contains(&m)) {
        return Err(ApiError::new("bad_request", "utc_offset_minutes must be from -720 to 840"));
    }
    let txn = crate::db::write_txn(&state.db).await?;
    if workspace::Entity::find().filter(workspace::Column::Slug.eq(new.slug.as_str())).one(&txn).await?.is_some() {
        return Err(ApiError::new("already_exists", "a workspace with this slug exists"));
    }
    let now = now_ms();
    let created = workspace::ActiveModel {
        id: Set(new_id()),
        slug: Set(new.slug.clone()),
        name: Set(name.to_owned()),
        created_at: Set(now),
        utc_offset_minutes: Set(new.utc_offset_minutes.unwrap_or(0)),
    }
    .insert(&txn)
    .await?;
    membership::ActiveModel {
        workspace_id: Set(created.id.clone()),
        user_id: Set(caller.user.id.clone()),
        roles: Set(json!(["admin"])),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        actor: &caller.user.id,
        action: "workspace.create",
        object_type: "workspace",
        object_id: &created.id,
        changes: json!({"slug": created.slug, "name": created.name, "admin": caller.user.username}).into(),
        reason: None,
    };
    audit::append(&txn, &created.id, entry, now).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(super::view(&created))))
}
