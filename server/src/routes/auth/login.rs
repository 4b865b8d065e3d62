//! `POST /api/v1/auth/login {username, password}`: a session cookie and the CSRF token.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse};
use sea_orm::ActiveModelTrait;
use sea_orm::Set;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_LIFETIME};
use crate::db::entities::session;
use crate::error::ApiError;
use crate::identity::{new_secret, now_ms, secret_hash, users, verify_password};
use crate::json::AppJson;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

pub async fn post(
    State(state): State<AppState>,
    AppJson(login): AppJson<Login>,
) -> Result<impl IntoResponse, ApiError> {
    if let Err(wait) = state.login_limiter.check(&login.username) {
        return Err(ApiError::new("rate_limited", "too many failed logins; try again later")
            .with_details(json!({"retry_after_seconds": wait})));
    }
    let user = users::find_by_username(&state.db, &login.username).await?;
    // Unknown users cost the same hash as known ones, so timing does not tell them apart.
    let stored = user.as_ref().map_or(state.dummy_password_hash.as_str(), |u| u.password_hash.as_str());
    let password_ok = verify_password(&login.password, stored);
    let user = match user {
        Some(user) if password_ok && !user.disabled => user,
        _ => {
            state.login_limiter.failed(&login.username);
            state.metrics.logins_failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(ApiError::new("unauthorized", "wrong username or password"));
        }
    };
    state.login_limiter.succeeded(&login.username);
    let secret = new_secret();
    let csrf_token = new_secret();
    let now = now_ms();
    session::ActiveModel {
        id: Set(secret_hash(&secret)),
        user_id: Set(user.id.clone()),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        expires_at: Set(now + SESSION_LIFETIME.as_millis() as i64),
    }
    .insert(&state.db)
    .await?;
    let cookie =
        format!("{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}", SESSION_LIFETIME.as_secs());
    let body = json!({
        "user": {"id": user.id, "username": user.username, "display_name": user.display_name, "is_admin": user.is_admin},
        "csrf_token": csrf_token,
    });
    Ok((AppendHeaders([(SET_COOKIE, cookie)]), Json(body)))
}
