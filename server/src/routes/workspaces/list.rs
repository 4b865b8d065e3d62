//! `GET /api/v1/workspaces`: the workspaces the caller belongs to (all, for installation admins).

use axum::Json;
use axum::extract::State;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::db::entities::{membership, workspace};
use crate::error::ApiError;

pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let workspaces = if let Some(only) = caller.token_workspace() {
        workspace::Entity::find().filter(workspace::Column::Id.eq(only)).all(&state.db).await?
    } else if caller.user.is_admin {
        workspace::Entity::find().order_by_asc(workspace::Column::Slug).all(&state.db).await?
    } else {
        let ids: Vec<String> = membership::Entity::find()
            .filter(membership::Column::UserId.eq(caller.user.id.clone()))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|m| m.workspace_id)
            .collect();
        workspace::Entity::find()
            .filter(workspace::Column::Id.is_in(ids))
            .order_by_asc(workspace::Column::Slug)
            .all(&state.db)
            .await?
    };
    Ok(Json(json!({"items": workspaces.iter().map(super::view).collect::<Vec<_>>()})))
}
