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
    check(state, access, &form.id, action)?;
    Ok(form)
}

/// What a submission needs of its form: which one it is and its latest published version.
#[derive(Clone, Debug)]
pub struct Latest {
    pub id: String,
    pub key: String,
    pub latest_version: Option<i32>,
}

/// Like [`load`] for submissions, which run often: only the form's id and latest version,
/// remembered per process for a moment (see `access_cache`; publishing drops them).
pub async fn latest<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    key: &str,
    action: Action,
) -> Result<Latest, ApiError> {
    let cache_key = (access.workspace.id.clone(), key.to_owned());
    let form = match state.access_cache.get(&state.access_cache.forms, &cache_key) {
        Some(found) => found,
        None => {
            let generation = state.access_cache.generation();
            let found = form::Entity::find()
                .filter(form::Column::WorkspaceId.eq(access.workspace.id.as_str()))
                .filter(form::Column::Key.eq(key))
                .one(&state.db)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let found = Latest { id: found.id, key: found.key, latest_version: found.latest_version };
            state.access_cache.put(&state.access_cache.forms, cache_key, found.clone(), generation);
            found
        }
    };
    check(state, access, &form.id, action)?;
    Ok(form)
}

/// Checks that the caller may see form `id` and do `action` to it.
fn check<A: ActionKind>(state: &AppState, access: &InWorkspace<A>, id: &str, action: Action) -> Result<(), ApiError> {
    let resource = Resource::Form { id, workspace: &access.workspace.id };
    if !access.allows(state, Action::Read, &resource) {
        return Err(ApiError::not_found());
    }
    if !access.allows(state, action, &resource) {
        return Err(ApiError::new("forbidden", "your roles do not allow this on this form"));
    }
    Ok(())
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
