//! `GET /api/v1/workspaces/{ws}/records/{id}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    let found = super::load(&state, &access, &state.db, id, Action::Read, false).await?;
    let (form, mask) = super::form_and_mask(&state, &access, &found.form_id).await?;
    Ok(Json(super::masked_view(&found, &form.key, &mask)))
}
