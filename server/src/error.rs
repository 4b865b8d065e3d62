//! The one error shape of the API: `{"code", "message", "details"?}` with the status its code
//! maps to. Domain codes know nothing of HTTP; this module owns the mapping. Internal errors
//! are logged with their cause and answered with a generic message.

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), details: None }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn not_found() -> ApiError {
        ApiError::new("not_found", "not found")
    }

    /// Logs `cause` and hides it from the client.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new("internal", "something went wrong")
    }

    pub fn status(&self) -> StatusCode {
        status_for(self.code)
    }
}

/// The status of each error code.
/// Every error code the API sends (the OpenAPI document lists them); `status_for` maps each.
pub const CODES: &[&str] = &[
    "bad_request",
    "malformed_json",
    "invalid_body",
    "invalid_query",
    "invalid_policies",
    "unauthorized",
    "forbidden",
    "csrf_failed",
    "not_found",
    "method_not_allowed",
    "conflict",
    "version_conflict",
    "already_exists",
    "payload_too_large",
    "unsupported_media_type",
    "validation_failed",
    "too_many_groups",
    "report_not_available",
    "rate_limited",
    "timeout",
    "unavailable",
    "internal",
];

pub fn status_for(code: &str) -> StatusCode {
    match code {
        "bad_request" | "malformed_json" | "invalid_body" | "invalid_query" | "invalid_policies" => {
            StatusCode::BAD_REQUEST
        }
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "forbidden" | "csrf_failed" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        // A report the workspace's own per-record policies make impossible to compute in SQL.
        "conflict" | "version_conflict" | "already_exists" | "report_not_available" => StatusCode::CONFLICT,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "validation_failed" | "too_many_groups" => StatusCode::UNPROCESSABLE_ENTITY,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "timeout" => StatusCode::REQUEST_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(details) = self.details {
            body["details"] = details;
        }
        (status, axum::Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new("payload_too_large", "the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::new("unsupported_media_type", "send JSON with Content-Type: application/json")
            }
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::new("invalid_body", rejection.body_text()),
            _ => match rejection {
                JsonRejection::JsonSyntaxError(_) => ApiError::new("malformed_json", rejection.body_text()),
                _ => ApiError::new("bad_request", rejection.body_text()),
            },
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> ApiError {
        ApiError::internal(error)
    }
}
