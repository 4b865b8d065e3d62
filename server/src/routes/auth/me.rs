//! `GET /api/v1/me`: the logged-in user and the workspaces they belong to, with roles.
//! `PATCH /api/v1/me`: the caller's display name and e-mail address (where e-mail
//! notifications go).

use axum::Json;
use axum::extract::State;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::db::entities::{membership, user, workspace};
use crate::error::ApiError;
use crate::json::AppJson;

pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(caller.user.id.clone()))
        .find_also_related(workspace::Entity)
        .all(&state.db)
        .await;
    let workspaces: Vec<Value> = match memberships {
        Ok(rows) => rows
            .into_iter()
            .filter_map(|(m, w)| w.map(|w| json!({"slug": w.slug, "name": w.name, "roles": m.roles})))
            .collect(),
        Err(error) => return Err(ApiError::internal(error)),
    };
    // A browser session's CSRF token, so that the app can write again after a reload (only
    // this origin can read the answer; a token caller has none).
    let csrf_token = match &caller.via {
        crate::auth::Via::Session { id } => {
            crate::db::entities::session::Entity::find_by_id(id.clone()).one(&state.db).await?.map(|s| s.csrf_token)
        }
        crate::auth::Via::Token { .. } => None,
    };
    let user = &caller.user;
    Ok(Json(json!({
        "user": {"id": user.id, "username": user.username, "display_name": user.display_name, "email": user.email, "is_admin": user.is_admin},
        "workspaces": workspaces,
        "csrf_token": csrf_token,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    display_name: Option<String>,
    /// An address, or null to remove it.
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
}

/// Tells `"email": null` (remove it) from a missing `email` (leave it).
fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(value).map(Some)
}

/// A plausible address: one `@` with text on both sides, a dot in the domain, no spaces or
/// control characters, at most 254 characters (RFC 5321's path limit).
fn plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    text.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
}

pub async fn patch(
    State(state): State<AppState>,
    mut caller: Caller,
    AppJson(changes): AppJson<Changes>,
) -> Result<Json<Value>, ApiError> {
    let mut update = user::Entity::update_many().filter(user::Column::Id.eq(caller.user.id.as_str()));
    if let Some(name) = &changes.display_name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::new("bad_request", "the display name must have 1 to 100 characters"));
        }
        update = update.col_expr(user::Column::DisplayName, Expr::value(name));
        caller.user.display_name = name.to_owned();
    }
    if let Some(email) = &changes.email {
        let email = email.as_deref().map(str::trim);
        if email.is_some_and(|e| !plausible_email(e)) {
            return Err(ApiError::new("bad_request", "that is not an e-mail address"));
        }
        update = update.col_expr(user::Column::Email, Expr::value(email.map(str::to_owned)));
        caller.user.email = email.map(str::to_owned);
    }
    if changes.display_name.is_some() || changes.email.is_some() {
        update.exec(&state.db).await?;
    }
    get(State(state), caller).await
}
