//! The task inbox (`GET /tasks?assignee=me&status=open`) and decisions
//! (`POST /tasks/{id}/decision`). A task id is `{instance}:{number}`.

pub mod decision;

use axum::Json;
use axum::extract::{Query, State};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::db::entities::{workflow_instance, workflow_task};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

pub fn task_id(task: &workflow_task::Model) -> String {
    format!("{}:{}", task.instance_id, task.task_no)
}

pub async fn list(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Query(filter): Query<Filter>,
) -> Result<Json<Value>, ApiError> {
    // Only one's own inbox: `assignee=me` (the default) or one's own id.
    let me = access.caller.user.id.as_str();
    match filter.assignee.as_deref() {
        None | Some("me") => {}
        Some(other) if other == me => {}
        Some(_) => return Err(ApiError::new("forbidden", "you can list only your own tasks (assignee=me)")),
    }
    let status = filter.status.unwrap_or_else(|| "open".to_owned());
    if !["open", "pending", "approved", "rejected", "returned", "delegated", "cancelled"].contains(&status.as_str()) {
        return Err(ApiError::new("invalid_query", "unknown task status"));
    }
    let tasks = workflow_task::Entity::find()
        .filter(workflow_task::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(workflow_task::Column::Assignee.eq(me))
        .filter(workflow_task::Column::Status.eq(status.as_str()))
        .order_by_asc(workflow_task::Column::CreatedAt)
        .limit(500)
        .all(&state.db)
        .await?;
    let instance_ids: Vec<String> = tasks.iter().map(|t| t.instance_id.clone()).collect();
    let instances = workflow_instance::Entity::find()
        .filter(workflow_instance::Column::Id.is_in(instance_ids))
        .all(&state.db)
        .await?;
    let items: Vec<Value> = tasks
        .iter()
        .map(|task| {
            let instance = instances.iter().find(|i| i.id == task.instance_id);
            json!({
                "id": task_id(task),
                "instance": task.instance_id,
                "record": instance.map(|i| i.record_id.clone()),
                "node": task.node,
                "status": task.status,
                "created_at": task.created_at,
                "due_at": task.due_at,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
