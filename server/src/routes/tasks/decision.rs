//! `POST /api/v1/workspaces/{ws}/tasks/{id}/decision`
//! `{action, comment?, to?, users?, position?, data?}`: approve, reject, return (to a node),
//! delegate / transfer (to a user), add_signer (users, before|after), resubmit. The engine
//! checks that the caller is the task's assignee and that the decision fits.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use engine::workflow::{Decision, EventKind, SignerPosition};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::db::entities::workflow_instance;
use crate::error::ApiError;
use crate::json::AppJson;
use sea_orm::EntityTrait;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    action: String,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    position: Option<SignerPosition>,
    #[serde(default)]
    data: Map<String, Value>,
}

fn decision(body: &Body) -> Result<Decision, ApiError> {
    let need_to =
        || body.to.clone().ok_or_else(|| ApiError::new("bad_request", format!("“{}” needs \"to\"", body.action)));
    Ok(match body.action.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "return" => Decision::Return { to: need_to()? },
        "delegate" | "transfer" => Decision::Delegate { to: need_to()? },
        "add_signer" => Decision::AddSigner {
            users: body.users.clone(),
            position: body
                .position
                .ok_or_else(|| ApiError::new("bad_request", "add_signer needs \"position\": before or after"))?,
        },
        "resubmit" => Decision::Resubmit,
        other => return Err(ApiError::new("bad_request", format!("unknown action “{other}”"))),
    })
}

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
    AppJson(body): AppJson<Body>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    let (instance_id, number) = id
        .rsplit_once(':')
        .and_then(|(i, n)| n.parse::<u64>().ok().map(|n| (i.to_owned(), n)))
        .ok_or_else(ApiError::not_found)?;
    let instance = workflow_instance::Entity::find_by_id(instance_id.as_str()).one(&state.db).await?;
    if instance.is_none_or(|i| i.workspace_id != access.workspace.id) {
        return Err(ApiError::not_found());
    }
    let kind = EventKind::Decide {
        task: number,
        by: access.caller.user.id.clone(),
        decision: decision(&body)?,
        comment: body.comment.clone(),
        edits: body.data.clone(),
    };
    let actor = access.caller.user.id.clone();
    let applied = crate::routes::instances::apply(&state, &access.workspace.id, &instance_id, kind, &actor).await?;
    Ok(Json(json!({"status": applied.status.name(), "state": applied})))
}
