//! `GET /api/v1/me`: the logged-in user and the workspaces they belong to, with roles.

use axum::Json;
use axum::extract::State;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::db::entities::{membership, workspace};
use crate::error::ApiError;

pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(caller.user.id.clone()))
        .find_also_related(workspace::Entity)
        .all(&state.db)
        .await;
    let workspaces: Vec<Value> = match memberships {
        Ok(rows) => rows
            .into_iter()
            .filter_map(|(m, w)| w.map(|w| json!({"slug": w.slug, "name": w.name, "roles": m.roles})))
            .collect(),
        Err(error) => return Err(ApiError::internal(error)),
    };
    let user = &caller.user;
    Ok(Json(json!({
        "user": {"id": user.id, "username": user.username, "display_name": user.display_name, "is_admin": user.is_admin},
        "workspaces": workspaces,
    })))
}
