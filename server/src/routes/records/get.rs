//! `GET /api/v1/workspaces/{ws}/records/{id}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::form;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    let found = super::load(&state, &access, &state.db, id, Action::Read, false).await?;
    let form_key =
        form::Entity::find_by_id(found.form_id.clone()).one(&state.db).await?.map(|f| f.key).unwrap_or_default();
    Ok(Json(super::view(&found, &form_key)))
}
