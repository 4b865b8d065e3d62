//! `GET /api/v1/workspaces/{ws}/forms/{form}/versions/{v}`: one published version, as it was.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::form_version;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let key = crate::routes::path_param(&params, "form");
    let version: i32 = params
        .get("version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::new("bad_request", "a version is a whole number"))?;
    let form = super::load(&state, &access, &state.db, key, Action::Read).await?;
    let found =
        form_version::Entity::find_by_id((form.id, version)).one(&state.db).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(json!({"version": found.version, "definition": found.definition, "published_at": found.published_at})))
}
