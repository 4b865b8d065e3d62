//! `/api/v1/workspaces/{ws}/workflow-instances/{id}`: an instance's state, tasks and history
//! (for callers who may read its record); `withdraw` by the submitter; `retry` and `skip` of a
//! blocked action by an administrator.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use engine::workflow::EventKind;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::access::{ActionKind, Admin, InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::workflow_instance;
use crate::error::ApiError;

async fn load<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    id: &str,
) -> Result<workflow_instance::Model, ApiError> {
    let instance = workflow_instance::Entity::find_by_id(id).one(&state.db).await?;
    let instance = instance.filter(|i| i.workspace_id == access.workspace.id).ok_or_else(ApiError::not_found)?;
    // Whoever may not read the record does not learn of its workflow either.
    crate::routes::records::load(state, access, &state.db, &instance.record_id, Action::Read, false).await?;
    Ok(instance)
}

fn view(instance: &workflow_instance::Model) -> Value {
    json!({
        "id": instance.id,
        "record": instance.record_id,
        "workflow_version": instance.workflow_version,
        "status": instance.status,
        "state": instance.state,
        "created_at": instance.created_at,
        "updated_at": instance.updated_at,
    })
}

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let instance = load(&state, &access, crate::routes::path_param(&params, "id")).await?;
    Ok(Json(view(&instance)))
}

async fn send<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    id: &str,
    kind: EventKind,
) -> Result<Json<Value>, ApiError> {
    let instance = load(state, access, id).await?;
    let runner = state.runner.clone();
    let actor = access.caller.user.id.clone();
    let instance_id = instance.id.clone();
    crate::workflows::in_transaction(&state.db, &access.workspace.id, move |txn, batch| {
        Box::pin(async move {
            match runner.apply(txn, batch, &instance_id, kind, &actor).await? {
                Ok(_) => Ok(()),
                Err(error) => Err(crate::routes::tasks::decision::refused(error)),
            }
        })
    })
    .await?;
    let instance = workflow_instance::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(view(&instance)))
}

pub async fn withdraw(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let by = access.caller.user.id.clone();
    send(&state, &access, crate::routes::path_param(&params, "id"), EventKind::Withdraw { by }).await
}

pub async fn retry(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let by = access.caller.user.id.clone();
    send(&state, &access, crate::routes::path_param(&params, "id"), EventKind::Retry { by }).await
}

pub async fn skip(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let by = access.caller.user.id.clone();
    send(&state, &access, crate::routes::path_param(&params, "id"), EventKind::Skip { by }).await
}
