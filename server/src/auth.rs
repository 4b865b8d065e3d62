//! Who is calling: a browser session (cookie + CSRF header on writes) or an API token
//! (`Authorization: Bearer fwk_...`, scoped to one workspace). `Caller` is an extractor, so a
//! handler that needs a logged-in user says so in its signature.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

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
    pub via: Via,
}

/// How the caller authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// A browser session; `id` is the stored (hashed) session id.
    Session { id: String },
    /// An API token, which reaches only its own workspace.
    Token { id: String, workspace_id: String },
}

impl Caller {
    /// The workspace a token is limited to (`None` for sessions).
    pub fn token_workspace(&self) -> Option<&str> {
        match &self.via {
            Via::Token { workspace_id, .. } => Some(workspace_id),
            Via::Session { .. } => None,
        }
    }
}

pub const TOKEN_PREFIX: &str = "fwk_";

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
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|token| token.starts_with(TOKEN_PREFIX));
        if let Some(token) = bearer {
            let invalid = || ApiError::new("unauthorized", "the API token is unknown, expired or revoked");
            let (token, user) = token_and_user(state, token).await?.ok_or_else(invalid)?;
            let now = now_ms();
            if token.revoked_at.is_some() || token.expires_at.is_some_and(|at| at <= now) || user.disabled {
                return Err(invalid());
            }
            return Ok(Caller { user, via: Via::Token { id: token.id, workspace_id: token.workspace_id } });
        }
        let secret = session_cookie(&parts.headers).ok_or_else(unauthorized)?;
        let session_id = secret_hash(secret);
        let (session, user) = session_and_user(state, session_id.clone()).await?.ok_or_else(unauthorized)?;
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
        if user.disabled {
            return Err(unauthorized());
        }
        Ok(Caller { user, via: Via::Session { id: session_id } })
    }
}

/// A token and its owner.
pub type TokenAndUser = (TokenRow, user::Model);
/// A session and its user.
pub type SessionAndUser = (session::Model, user::Model);

/// A session and its user (remembered per process for a moment, see `access_cache`).
async fn session_and_user(state: &AppState, session_id: String) -> Result<Option<SessionAndUser>, ApiError> {
    if let Some(found) = state.access_cache.get(&state.access_cache.sessions, &session_id) {
        return Ok(Some(found));
    }
    let generation = state.access_cache.generation();
    let Some(session) = session::Entity::find_by_id(session_id.clone()).one(&state.db).await? else {
        return Ok(None);
    };
    let Some(user) = user::Entity::find_by_id(session.user_id.clone()).one(&state.db).await? else {
        return Ok(None);
    };
    let found = (session, user);
    state.access_cache.put(&state.access_cache.sessions, session_id, found.clone(), generation);
    Ok(Some(found))
}

/// The parts of a token row that authentication needs.
#[derive(Clone, Debug)]
pub struct TokenRow {
    id: String,
    workspace_id: String,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// A token and its owner in one query (every API call with a token needs them; remembered per
/// process for a moment, see `access_cache`).
async fn token_and_user(state: &AppState, token: &str) -> Result<Option<TokenAndUser>, ApiError> {
    let hash = secret_hash(token);
    if let Some(found) = state.access_cache.get(&state.access_cache.tokens, &hash) {
        return Ok(Some(found));
    }
    let generation = state.access_cache.generation();
    let backend = state.db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres { "$1" } else { "?" };
    let sql = format!(
        "SELECT t.id, t.workspace_id, t.expires_at, t.revoked_at, \
         u.id, u.username, u.display_name, u.password_hash, u.is_admin, u.disabled, u.created_at, u.email \
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = {placeholder}"
    );
    let row = state.db.query_one_raw(Statement::from_sql_and_values(backend, sql, [hash.clone().into()])).await?;
    let Some(row) = row else { return Ok(None) };
    let token = TokenRow {
        id: row.try_get_by_index(0)?,
        workspace_id: row.try_get_by_index(1)?,
        expires_at: row.try_get_by_index(2)?,
        revoked_at: row.try_get_by_index(3)?,
    };
    let user = user::Model {
        id: row.try_get_by_index(4)?,
        username: row.try_get_by_index(5)?,
        display_name: row.try_get_by_index(6)?,
        password_hash: row.try_get_by_index(7)?,
        is_admin: row.try_get_by_index(8)?,
        disabled: row.try_get_by_index(9)?,
        created_at: row.try_get_by_index(10)?,
        email: row.try_get_by_index(11)?,
    };
    state.access_cache.put(&state.access_cache.tokens, hash, (token.clone(), user.clone()), generation);
    Ok(Some((token, user)))
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
