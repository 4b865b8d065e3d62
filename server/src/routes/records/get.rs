//! `GET /api/v1/workspaces/{ws}/records/{id}`: the record (fields the caller may read) and
//! the workflow instances that run or ran on it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::workflow_instance;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    let found = super::load(&state, &access, &state.db, id, Action::Read, false).await?;
    let (form, mask) = super::form_and_mask(&state, &access, &found.form_id).await?;
    let instances = workflow_instance::Entity::find()
        .filter(workflow_instance::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(workflow_instance::Column::RecordId.eq(found.id.as_str()))
        .order_by_asc(workflow_instance::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let mut body = super::masked_view(&found, &form.key, &mask);
    body["workflows"] = instances
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "workflow_version": i.workflow_version,
                "status": i.status,
                "created_at": i.created_at,
                "updated_at": i.updated_at,
            })
        })
        .collect();
    Ok(Json(body))
}
