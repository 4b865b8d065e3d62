//! `/api/v1/workspaces/{ws}/forms`: drafts, immutable published versions, JSON Schema.

pub mod create;
pub mod get;
pub mod list;
pub mod publish;
pub mod save;
pub mod schema;
pub mod version;

use engine::Lang;
use engine::form::{CompiledForm, Issue};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::access::{ActionKind, InWorkspace};
use crate::app::AppState;
use crate::authz::{Action, Resource};
use crate::db::entities::form;
use crate::error::ApiError;

/// Loads `key` in the workspace and checks `action` on it; a form the caller may not see is
/// "not found".
pub async fn load<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    db: &impl ConnectionTrait,
    key: &str,
    action: Action,
) -> Result<form::Model, ApiError> {
    let form = form::Entity::find()
        .filter(form::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(form::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let resource = Resource::Form { id: &form.id, workspace: &access.workspace.id };
    if !access.allows(state, Action::Read, &resource) {
        return Err(ApiError::not_found());
    }
    if !access.allows(state, action, &resource) {
        return Err(ApiError::new("forbidden", "your roles do not allow this on this form"));
    }
    Ok(form)
}

/// The draft's problems, if any (a draft may be incomplete; publishing needs none).
pub fn draft_issues(draft: &Value, lang: Lang) -> Vec<Issue> {
    CompiledForm::compile(draft, lang).err().unwrap_or_default()
}

pub fn view(form: &form::Model, lang: Lang) -> Value {
    json!({
        "key": form.key,
        "name": form.draft.get("name").cloned().unwrap_or(Value::Null),
        "draft": form.draft,
        "latest_version": form.latest_version,
        "issues": draft_issues(&form.draft, lang),
        "updated_at": form.updated_at,
    })
}

/// A draft must at least be an object whose `key` is a valid key (the rest may be unfinished).
pub fn check_draft_shape(draft: &Value) -> Result<String, ApiError> {
    let key = draft.get("key").and_then(Value::as_str).unwrap_or_default();
    let valid = key.len() <= 64
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !draft.is_object() || !valid {
        return Err(ApiError::new("bad_request", "a form definition is an object with a \"key\" of a-z, 0-9 and _"));
    }
    Ok(key.to_owned())
}
