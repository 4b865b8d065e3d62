//! `Language`: the caller's language from `Accept-Language` (en or zh-CN).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use engine::Lang;

pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Language, Infallible> {
        let header = parts.headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(Language(header.map(Lang::from_accept_language).unwrap_or_default()))
    }
}
