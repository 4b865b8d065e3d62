//! `GET /api/v1/workspaces/{ws}/records/{id}/history`: every change of the record, from the
//! audit log (who, when, field-level before/after, reason).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::{audit_entry, record};
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    // Deleted records keep their history; find the record either way.
    let live = super::load(&state, &access, &state.db, id, Action::Read, false).await;
    let found: record::Model = match live {
        Ok(found) => found,
        Err(_) => super::load(&state, &access, &state.db, id, Action::Read, true).await?,
    };
    let (_, mask) = super::form_and_mask(&state, &access, &found.form_id).await?;
    let entries = audit_entry::Entity::find()
        .filter(audit_entry::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(audit_entry::Column::ObjectType.eq("record"))
        .filter(audit_entry::Column::ObjectId.eq(found.id.as_str()))
        .order_by_asc(audit_entry::Column::Seq)
        .all(&state.db)
        .await?;
    let items: Vec<Value> = entries
        .into_iter()
        .map(|mut e| {
            mask.redact(&mut e.changes);
            json!({"at": e.at, "actor": e.actor, "action": e.action, "changes": e.changes, "reason": e.reason})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
