//! `GET /api/v1/workspaces/{ws}/audit` and `.../audit/verify`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};

use crate::access::{Admin, InWorkspace};
use crate::app::AppState;
use crate::db::entities::audit_entry;
use crate::error::ApiError;

/// Entries in order, 100 per page by default: `?after=SEQ&limit=N`.
pub async fn list(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let parse = |name: &str, default: u64| -> Result<u64, ApiError> {
        query.get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| ApiError::new("invalid_query", format!("{name} must be a whole number")))
        })
    };
    let after = parse("after", 0)?;
    let limit = parse("limit", 100)?.clamp(1, 1000);
    let rows = audit_entry::Entity::find()
        .filter(audit_entry::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .filter(audit_entry::Column::Seq.gt(after as i64))
        .order_by_asc(audit_entry::Column::Seq)
        .limit(limit)
        .all(&state.db)
        .await?;
    let next = (rows.len() as u64 == limit).then(|| rows.last().map(|r| r.seq)).flatten();
    let items: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({
                "seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action,
                "object_type": r.object_type, "object_id": r.object_id, "changes": r.changes,
                "reason": r.reason, "hash": r.hash,
            })
        })
        .collect();
    Ok(Json(json!({"items": items, "next_after": next})))
}

pub async fn verify(State(state): State<AppState>, access: InWorkspace<Admin>) -> Result<Json<Value>, ApiError> {
    let verification = crate::audit::verify(&state.db, &access.workspace.id).await?;
    Ok(Json(serde_json::to_value(verification).map_err(ApiError::internal)?))
}
