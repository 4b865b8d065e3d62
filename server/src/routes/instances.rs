//! `/api/v1/workspaces/{ws}/workflow-instances/{id}`: an instance's state, tasks and history
//! (for callers who may read its record); `withdraw` by the submitter; `retry` and `skip` of a
//! blocked action by an administrator.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use engine::workflow::{EventKind, InstanceState, StepError, StepErrorCode};
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

/// How a refused event shows in the API.
pub fn refused(error: StepError) -> ApiError {
    let code = match error.code {
        StepErrorCode::UnknownTask => "not_found",
        StepErrorCode::NotAssignee | StepErrorCode::NotEditable => "forbidden",
        StepErrorCode::InvalidDecision | StepErrorCode::InvalidReturnTarget => "bad_request",
        StepErrorCode::NotRunning
        | StepErrorCode::TaskNotOpen
        | StepErrorCode::AlreadyDecided
        | StepErrorCode::Stale => "conflict",
    };
    ApiError::new(code, error.message).with_details(json!({"reason": error.code}))
}

/// Applies `kind` to an instance in its own transaction; a refused event rolls back (nothing
/// was written) and answers why.
pub(crate) async fn apply(
    state: &AppState,
    workspace_id: &str,
    instance_id: &str,
    kind: EventKind,
    actor: &str,
) -> Result<InstanceState, ApiError> {
    let runner = state.runner.clone();
    let (instance_id, actor) = (instance_id.to_owned(), actor.to_owned());
    crate::workflows::in_transaction(&state.db, workspace_id, move |txn, batch| {
        Box::pin(async move { runner.apply(txn, batch, &instance_id, kind, &actor).await?.map_err(refused) })
    })
    .await
}

async fn send<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    id: &str,
    kind: EventKind,
) -> Result<Json<Value>, ApiError> {
    let instance = load(state, access, id).await?;
    apply(state, &access.workspace.id, &instance.id, kind, &access.caller.user.id).await?;
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
