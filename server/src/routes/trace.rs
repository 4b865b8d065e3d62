//! `GET /api/v1/workspaces/{ws}/trace?lot=..&direction=backward|forward&depth=5`: the
//! genealogy of a lot (`crate::trace`), current as of the request (the links catch up with
//! the audit log first). Only forms the caller may read in full take part: a record the
//! caller may not see is neither shown nor walked through, so it cannot reveal what lies
//! beyond it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::{Action, Resource};
use crate::db::entities::form;
use crate::error::ApiError;
use crate::routes::records::{RowScope, row_scope};
use crate::trace::{Direction, catch_up, walk};

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let lot = params
        .get("lot")
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::new("bad_request", "lot is required"))?;
    let direction = match params.get("direction").map(String::as_str).unwrap_or("backward") {
        "backward" => Direction::Backward,
        "forward" => Direction::Forward,
        other => return Err(ApiError::new("bad_request", format!("direction {other:?}: backward or forward"))),
    };
    let depth: u32 = match params.get("depth") {
        Some(d) => d
            .parse()
            .ok()
            .filter(|d| (1..=20).contains(d))
            .ok_or_else(|| ApiError::new("bad_request", "depth is 1 to 20"))?,
        None => 5,
    };
    catch_up(&state.db, &state.forms, &access.workspace.id).await?;
    let forms =
        form::Entity::find().filter(form::Column::WorkspaceId.eq(access.workspace.id.as_str())).all(&state.db).await?;
    let keys: HashMap<String, String> = forms.iter().map(|f| (f.id.clone(), f.key.clone())).collect();
    let readable: HashMap<String, bool> = forms
        .iter()
        .map(|f| {
            let resource = Resource::Form { id: &f.id, workspace: &access.workspace.id };
            let ok =
                access.allows(&state, Action::Read, &resource) && row_scope(&state, &access, &f.id) == RowScope::All;
            (f.id.clone(), ok)
        })
        .collect();
    let trace = walk(&state.db, &access.workspace.id, lot, direction, depth, &keys, |form_id, _| {
        readable.get(form_id).copied().unwrap_or(false)
    })
    .await?;
    Ok(Json(json!({
        "lot": trace.lot,
        "direction": if direction == Direction::Backward { "backward" } else { "forward" },
        "depth": depth,
        "lots": trace.lots,
        "nodes": trace.nodes,
        "edges": trace.edges,
    })))
}
