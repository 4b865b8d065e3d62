//! `GET /api/v1/workspaces/{ws}/forms/{form}/schema.json`: the JSON Schema (draft 2020-12) of
//! the latest published version, for outside tools.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use engine::form::CompiledForm;
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::form_version;
use crate::error::ApiError;
use crate::lang::Language;

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let key = crate::routes::path_param(&params, "form");
    let form = super::load(&state, &access, &state.db, key, Action::Read).await?;
    let latest = form.latest_version.ok_or_else(|| ApiError::new("not_found", "the form has no published version"))?;
    let version = form_version::Entity::find_by_id((form.id.clone(), latest))
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let compiled = CompiledForm::compile(&version.definition, lang)
        .map_err(|_| ApiError::internal(format!("published version {latest} of {} does not compile", form.id)))?;
    Ok(Json(compiled.json_schema().clone()))
}
