//! `InWorkspace<A>`: the extractor that resolves `{ws}` in the path, loads the caller's roles
//! there and checks that they may do `A` to the workspace. A workspace the caller is not a
//! member of answers 404, so its existence does not leak.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use engine::form::{CompiledForm, FieldMask};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

use crate::app::AppState;
use crate::auth::Caller;
use crate::authz::{Action, Policies, Principal, Resource};
use crate::db::entities::{membership, workspace};
use crate::error::ApiError;

/// A type naming an action, so that the permission shows in a handler's signature.
pub trait ActionKind {
    const ACTION: Action;
}

macro_rules! action_kinds {
    ($($name:ident => $action:ident),* $(,)?) => {
        $(
            #[derive(Debug)]
            pub struct $name;
            impl ActionKind for $name {
                const ACTION: Action = Action::$action;
            }
        )*
    };
}

action_kinds!(Read => Read, Create => Create, Update => Update, Delete => Delete, Design => Design, Admin => Admin);

/// The caller, the workspace of the path and the caller's roles in it, after `A` was allowed
/// on the workspace itself. Handlers check finer resources with [`InWorkspace::allows`].
pub struct InWorkspace<A: ActionKind> {
    pub caller: Caller,
    pub workspace: workspace::Model,
    pub roles: Vec<String>,
    /// The workspace's own policies combined with the defaults, when it has any.
    policies: Option<Arc<Policies>>,
    action: PhantomData<A>,
}

impl<A: ActionKind> InWorkspace<A> {
    pub fn principal(&self) -> Principal<'_> {
        let is_admin = self.caller.user.is_admin && self.caller.token_workspace().is_none();
        Principal { user_id: &self.caller.user.id, is_admin, roles: &self.roles }
    }

    /// The caller's field mask on `form`: workspace and installation administrators see and
    /// edit every field; everybody else as the form's `access` rules say for their roles.
    pub fn field_mask(&self, form: &CompiledForm) -> FieldMask {
        let unrestricted = self.principal().is_admin || self.roles.iter().any(|r| r == "admin");
        form.field_mask(&self.roles, unrestricted)
    }

    /// True when the workspace has policies of its own (beyond the shipped defaults).
    pub fn has_own_policies(&self) -> bool {
        self.policies.is_some()
    }

    pub fn allows(&self, state: &AppState, action: Action, resource: &Resource<'_>) -> bool {
        match &self.policies {
            Some(policies) => state.authz.is_allowed_with(policies, &self.principal(), action, resource),
            None => state.authz.is_allowed(&self.principal(), action, resource),
        }
    }
}

/// A workspace with the caller's roles there and its own policies, if any.
#[derive(Clone, Debug)]
pub struct Resolved {
    workspace: workspace::Model,
    roles: Vec<String>,
    policies: Option<(i64, String)>,
}

/// The workspace of `slug`, the roles of `user_id` in it and its own policies, in one query:
/// every request resolves its workspace, so this is on the hot path (and remembered per
/// process for a moment, see `access_cache`).
async fn resolve(state: &AppState, slug: &str, user_id: &str) -> Result<Option<Resolved>, ApiError> {
    let key = (slug.to_owned(), user_id.to_owned());
    if let Some(found) = state.access_cache.get(&state.access_cache.workspaces, &key) {
        return Ok(Some(found));
    }
    let generation = state.access_cache.generation();
    let backend = state.db.get_database_backend();
    let (a, b) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let sql = format!(
        "SELECT w.id, w.slug, w.name, w.created_at, m.roles, p.updated_at, p.text, w.utc_offset_minutes FROM workspaces w \
         LEFT JOIN memberships m ON m.workspace_id = w.id AND m.user_id = {a} \
         LEFT JOIN workspace_policies p ON p.workspace_id = w.id WHERE w.slug = {b}"
    );
    let row =
        state.db.query_one_raw(Statement::from_sql_and_values(backend, sql, [user_id.into(), slug.into()])).await?;
    let Some(row) = row else { return Ok(None) };
    let workspace = workspace::Model {
        id: row.try_get_by_index(0)?,
        slug: row.try_get_by_index(1)?,
        name: row.try_get_by_index(2)?,
        created_at: row.try_get_by_index(3)?,
        utc_offset_minutes: row.try_get_by_index(7)?,
    };
    let roles: Option<serde_json::Value> = row.try_get_by_index(4)?;
    let roles = roles.and_then(|r| serde_json::from_value::<Vec<String>>(r).ok()).unwrap_or_default();
    let updated_at: Option<i64> = row.try_get_by_index(5)?;
    let text: Option<String> = row.try_get_by_index(6)?;
    let found = Resolved { workspace, roles, policies: updated_at.zip(text) };
    state.access_cache.put(&state.access_cache.workspaces, key, found.clone(), generation);
    Ok(Some(found))
}

/// The caller's roles in `workspace_id` (empty when not a member).
pub async fn roles_in(state: &AppState, user_id: &str, workspace_id: &str) -> Result<Vec<String>, ApiError> {
    let membership =
        membership::Entity::find_by_id((workspace_id.to_owned(), user_id.to_owned())).one(&state.db).await?;
    Ok(membership.and_then(|m| serde_json::from_value::<Vec<String>>(m.roles).ok()).unwrap_or_default())
}

impl<A: ActionKind + Send + Sync> FromRequestParts<AppState> for InWorkspace<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::new("bad_request", "malformed path"))?;
        let slug = params.get("ws").ok_or_else(ApiError::not_found)?;
        let found = resolve(state, slug, &caller.user.id).await?.ok_or_else(ApiError::not_found)?;
        let workspace = found.workspace;
        // A token reaches only the workspace it was made for.
        if caller.token_workspace().is_some_and(|id| id != workspace.id) {
            return Err(ApiError::not_found());
        }
        let roles = found.roles;
        // Installation admins reach every workspace with a session; with a token, only as members.
        let installation_admin = caller.user.is_admin && caller.token_workspace().is_none();
        if roles.is_empty() && !installation_admin {
            return Err(ApiError::not_found());
        }
        let policies = match found.policies {
            Some((updated_at, text)) => Some(
                state
                    .authz
                    .combined(&workspace.id, updated_at, &text)
                    // Stored policies were validated; if they no longer load, fail closed.
                    .map_err(|e| ApiError::internal(format!("workspace {} policies: {e}", workspace.slug)))?,
            ),
            None => None,
        };
        let access = InWorkspace { caller, workspace, roles, policies, action: PhantomData };
        if !access.allows(state, A::ACTION, &Resource::Workspace { id: &access.workspace.id }) {
            return Err(ApiError::new("forbidden", "your roles in this workspace do not allow this"));
        }
        Ok(access)
    }
}
