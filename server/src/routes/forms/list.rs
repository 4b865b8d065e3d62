//! `GET /api/v1/workspaces/{ws}/forms`: the forms the caller may read.

use axum::Json;
use axum::extract::State;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::{Action, Resource};
use crate::db::entities::form;
use crate::error::ApiError;

pub async fn get(State(state): State<AppState>, access: InWorkspace<Read>) -> Result<Json<Value>, ApiError> {
    let forms = form::Entity::find()
        .filter(form::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .order_by_asc(form::Column::Key)
        .all(&state.db)
        .await?;
    let items: Vec<Value> = forms
        .iter()
        .filter(|f| access.allows(&state, Action::Read, &Resource::Form { id: &f.id, workspace: &access.workspace.id }))
        .map(|f| {
            json!({
                "key": f.key,
                "name": f.draft.get("name").cloned().unwrap_or(Value::Null),
                "latest_version": f.latest_version,
                "updated_at": f.updated_at,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
