//! HTTP routes: one module per endpoint or small resource.

mod audit;
mod auth;
pub(crate) mod forms;
mod health;
mod metrics;
mod records;
mod workspaces;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::error::ApiError;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::get))
        .route("/metrics", get(metrics::get))
        .route("/api/v1/auth/login", post(auth::login::post))
        .route("/api/v1/auth/logout", post(auth::logout::post))
        .route("/api/v1/me", get(auth::me::get))
        .route("/api/v1/auth/tokens", get(auth::tokens::list).post(auth::tokens::create))
        .route("/api/v1/auth/tokens/{id}", axum::routing::delete(auth::tokens::revoke))
        .route("/api/v1/workspaces", get(workspaces::list::get).post(workspaces::create::post))
        .route(
            "/api/v1/workspaces/{ws}/members",
            get(workspaces::members::list).put(workspaces::members::put).post(workspaces::members::put),
        )
        .route("/api/v1/workspaces/{ws}/policies", get(workspaces::policies::get).put(workspaces::policies::put))
        .route("/api/v1/workspaces/{ws}/members/{username}", axum::routing::delete(workspaces::members::delete))
        .route("/api/v1/workspaces/{ws}/forms", get(forms::list::get).post(forms::create::post))
        .route("/api/v1/workspaces/{ws}/forms/{form}", get(forms::get::get).put(forms::save::put))
        .route("/api/v1/workspaces/{ws}/forms/{form}/publish", post(forms::publish::post))
        .route("/api/v1/workspaces/{ws}/forms/{form}/versions/{version}", get(forms::version::get))
        .route("/api/v1/workspaces/{ws}/forms/{form}/schema.json", get(forms::schema::get))
        .route("/api/v1/workspaces/{ws}/forms/{form}/records", get(records::list::get).post(records::create::post))
        .route(
            "/api/v1/workspaces/{ws}/records/{id}",
            get(records::get::get).patch(records::patch::patch).delete(records::delete::delete),
        )
        .route("/api/v1/workspaces/{ws}/records/{id}/restore", post(records::delete::restore))
        .route("/api/v1/workspaces/{ws}/records/{id}/history", get(records::history::get))
        .route("/api/v1/workspaces/{ws}/audit", get(audit::list))
        .route("/api/v1/workspaces/{ws}/audit/verify", get(audit::verify))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// A named path parameter (routes guarantee it is there; absent reads as empty, which no
/// lookup matches).
pub fn path_param<'a>(params: &'a std::collections::HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or_default()
}

async fn not_found() -> ApiError {
    ApiError::new("not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new("method_not_allowed", "this route does not take that method")
}
