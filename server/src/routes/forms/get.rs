//! `GET /api/v1/workspaces/{ws}/forms/{form}`: the draft, its issues and the latest version.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
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
    Ok(Json(super::view(&form, lang)))
}
