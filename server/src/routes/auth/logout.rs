//! `POST /api/v1/auth/logout`: ends the session (needs the CSRF header like any write).

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse};
use sea_orm::EntityTrait;

use crate::app::AppState;
use crate::auth::{Caller, SESSION_COOKIE, Via};
use crate::db::entities::session;
use crate::error::ApiError;

pub async fn post(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    let Via::Session { id } = caller.via else {
        return Err(ApiError::new("bad_request", "API tokens are revoked, not logged out"));
    };
    session::Entity::delete_by_id(id).exec(&state.db).await?;
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, AppendHeaders([(SET_COOKIE, expired)])))
}
