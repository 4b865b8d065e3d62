//! `GET/PUT /api/v1/workspaces/{ws}/policies`: the workspace's own Cedar policies, added to the
//! defaults for this workspace only; validated against the schema before they are stored.

use axum::Json;
use axum::extract::State;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Admin, InWorkspace};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::authz::DEFAULT_POLICIES;
use crate::db::entities::workspace_policy;
use crate::error::ApiError;
use crate::identity::now_ms;
use crate::json::AppJson;

pub async fn get(State(state): State<AppState>, access: InWorkspace<Admin>) -> Result<Json<Value>, ApiError> {
    let own = workspace_policy::Entity::find_by_id(access.workspace.id.clone()).one(&state.db).await?;
    Ok(Json(json!({
        "text": own.as_ref().map_or("", |p| p.text.as_str()),
        "updated_at": own.as_ref().map(|p| p.updated_at),
        "defaults": DEFAULT_POLICIES,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    text: String,
}

pub async fn put(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    AppJson(policies): AppJson<Policies>,
) -> Result<Json<Value>, ApiError> {
    if policies.text.len() > 64 * 1024 {
        return Err(ApiError::new("bad_request", "policies are limited to 64 KiB"));
    }
    state.authz.parse_policies(&policies.text).map_err(|error| {
        ApiError::new("invalid_policies", "the policies do not validate against the Cedar schema")
            .with_details(json!({"errors": error}))
    })?;
    let txn = crate::db::write_txn(&state.db).await?;
    let now = now_ms();
    let before = workspace_policy::Entity::find_by_id(access.workspace.id.clone()).one(&txn).await?;
    let before_text = before.as_ref().map(|p| p.text.clone());
    match before {
        Some(existing) => {
            let mut active = existing.into_active_model();
            active.text = Set(policies.text.clone());
            active.updated_at = Set(now);
            active.updated_by = Set(access.caller.user.id.clone());
            active.update(&txn).await?;
        }
        None => {
            workspace_policy::ActiveModel {
                workspace_id: Set(access.workspace.id.clone()),
                text: Set(policies.text.clone()),
                updated_at: Set(now),
                updated_by: Set(access.caller.user.id.clone()),
            }
            .insert(&txn)
            .await?;
        }
    }
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "policies.update",
        object_type: "workspace",
        object_id: &access.workspace.id,
        changes: json!({"text": {"before": before_text, "after": policies.text}}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok(Json(json!({"text": policies.text, "updated_at": now})))
}
