//! Who is calling: a browser session (cookie + CSRF header on writes) or, later, an API token.
//! `Caller` is an extractor, so a handler that needs a logged-in user says so in its
//! signature.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use sea_orm::EntityTrait;

use crate::app::AppState;
use crate::db::entities::{session, user};
use crate::error::ApiError;
use crate::identity::{now_ms, secret_hash};

pub const SESSION_COOKIE: &str = "formwork_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

#[derive(Clone, Debug)]
pub struct Caller {
    pub user: user::Model,
    pub session_id: String,
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == SESSION_COOKIE).then_some(value))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let unauthorized = || ApiError::new("unauthorized", "log in first");
        let secret = session_cookie(&parts.headers).ok_or_else(unauthorized)?;
        let session_id = secret_hash(secret);
        let session = session::Entity::find_by_id(session_id.clone()).one(&state.db).await?.ok_or_else(unauthorized)?;
        if session.expires_at <= now_ms() {
            return Err(unauthorized());
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            // Cookies travel with cross-site requests; the CSRF token does not.
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(ApiError::new("csrf_failed", "missing or wrong X-CSRF-Token header"));
            }
        }
        let user = user::Entity::find_by_id(session.user_id).one(&state.db).await?.ok_or_else(unauthorized)?;
        if user.disabled {
            return Err(unauthorized());
        }
        Ok(Caller { user, session_id })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Failed logins per username: after `MAX_FAILURES` within `WINDOW`, further attempts are
/// refused until the window passes, whether the password is right or not.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

impl LoginLimiter {
    /// `Err(seconds to wait)` when `username` is locked out.
    pub fn check(&self, username: &str) -> Result<(), u64> {
        let failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match failures.get(&username.to_lowercase()) {
            Some((count, since)) if *count >= MAX_FAILURES && since.elapsed() < WINDOW => {
                Err((WINDOW - since.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = failures.entry(username.to_lowercase()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(&username.to_lowercase());
    }
}
