//! `GET /healthz`: the server is up and its database answers.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::ApiError;

pub async fn get(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.db.ping().await {
        Ok(()) => Ok(Json(json!({"status": "ok", "database": state.backend()}))),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            Err(ApiError::new("unavailable", "the database does not answer"))
        }
    }
}
