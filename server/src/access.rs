//! `InWorkspace<A>`: the extractor that resolves `{ws}` in the path, loads the caller's roles
//! there and checks that they may do `A` to the workspace. A workspace the caller is not a
//! member of answers 404, so its existence does not leak.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use cedar_policy::PolicySet;
use engine::form::{CompiledForm, FieldMask};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::app::AppState;
use crate::auth::Caller;
use crate::authz::{Action, Principal, Resource};
use crate::db::entities::{membership, workspace, workspace_policy};
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
    policies: Option<Arc<PolicySet>>,
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
        let workspace = workspace::Entity::find()
            .filter(workspace::Column::Slug.eq(slug.as_str()))
            .one(&state.db)
            .await?
            .ok_or_else(ApiError::not_found)?;
        // A token reaches only the workspace it was made for.
        if caller.token_workspace().is_some_and(|id| id != workspace.id) {
            return Err(ApiError::not_found());
        }
        let roles = roles_in(state, &caller.user.id, &workspace.id).await?;
        // Installation admins reach every workspace with a session; with a token, only as members.
        let installation_admin = caller.user.is_admin && caller.token_workspace().is_none();
        if roles.is_empty() && !installation_admin {
            return Err(ApiError::not_found());
        }
        let own = workspace_policy::Entity::find_by_id(workspace.id.clone()).one(&state.db).await?;
        let policies = match own {
            Some(own) => Some(
                state
                    .authz
                    .combined(&workspace.id, own.updated_at, &own.text)
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
