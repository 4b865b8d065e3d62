//! `/api/v1/workspaces/{ws}/outbox` (administrators): external calls and their attempts,
//! filtered by status (`dead` for the ones given up on), and `POST /{id}/retry`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use engine::workflow::EventKind;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Admin, InWorkspace};
use crate::app::AppState;
use crate::audit;
use crate::db::entities::{outbox, outbox_attempt};
use crate::error::ApiError;
use crate::identity::now_ms;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default)]
    status: Option<String>,
}

fn view(row: &outbox::Model, attempts: &[outbox_attempt::Model]) -> Value {
    json!({
        "id": row.id,
        "instance": row.instance_id,
        "connector": row.connector,
        "operation": row.operation,
        "idempotency_key": row.idempotency_key,
        "status": row.status,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "next_attempt_at": row.next_attempt_at,
        "last_error": row.last_error,
        "result": row.result,
        "history": attempts.iter().filter(|a| a.outbox_id == row.id).map(|a| json!({
            "attempt": a.attempt, "started_at": a.started_at, "finished_at": a.finished_at,
            "worker": a.worker, "outcome": a.outcome, "error": a.error,
        })).collect::<Vec<_>>(),
    })
}

pub async fn list(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Query(filter): Query<Filter>,
) -> Result<Json<Value>, ApiError> {
    let mut query = outbox::Entity::find().filter(outbox::Column::WorkspaceId.eq(access.workspace.id.as_str()));
    if let Some(status) = &filter.status {
        if !["pending", "delivering", "done", "failed", "dead"].contains(&status.as_str()) {
            return Err(ApiError::new("invalid_query", "unknown outbox status"));
        }
        query = query.filter(outbox::Column::Status.eq(status.as_str()));
    }
    let rows = query.order_by_desc(outbox::Column::CreatedAt).limit(500).all(&state.db).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let attempts =
        outbox_attempt::Entity::find().filter(outbox_attempt::Column::OutboxId.is_in(ids)).all(&state.db).await?;
    Ok(Json(json!({"items": rows.iter().map(|r| view(r, &attempts)).collect::<Vec<_>>()})))
}

/// Delivers a failed or dead row again. A row an instance waits on is retried through the
/// instance (which re-arms it with the same idempotency key); others are re-armed directly.
pub async fn retry(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id").to_owned();
    let row = outbox::Entity::find_by_id(id.as_str()).one(&state.db).await?;
    let row = row.filter(|r| r.workspace_id == access.workspace.id).ok_or_else(ApiError::not_found)?;
    if !["failed", "dead"].contains(&row.status.as_str()) {
        return Err(ApiError::new("conflict", "only failed or dead calls can be retried"));
    }
    match &row.instance_id {
        Some(instance) => {
            let retry = EventKind::Retry { by: access.caller.user.id.clone() };
            crate::routes::instances::apply(&state, &access.workspace.id, instance, retry, &access.caller.user.id)
                .await?;
        }
        None => {
            let now = now_ms();
            let txn = crate::db::write_txn(&state.db).await?;
            outbox::Entity::update_many()
                .col_expr(outbox::Column::Status, Expr::value("pending"))
                .col_expr(outbox::Column::MaxAttempts, Expr::value(row.attempts + crate::workflows::MAX_ATTEMPTS))
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
                .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
                .filter(outbox::Column::Id.eq(row.id.as_str()))
                .exec(&txn)
                .await?;
            let entry = audit::Entry {
                actor: &access.caller.user.id,
                action: "outbox.retry",
                object_type: "outbox",
                object_id: &row.id,
                changes: json!({"connector": row.connector, "operation": row.operation}).into(),
                reason: None,
            };
            audit::append(&txn, &access.workspace.id, entry, now).await?;
            txn.commit().await?;
        }
    }
    let row = outbox::Entity::find_by_id(id.as_str()).one(&state.db).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(view(&row, &[])))
}
