//! `DELETE /api/v1/workspaces/{ws}/records/{id}` (soft) and `POST .../{id}/restore`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::authz::Action;
use crate::db::entities::record;
use crate::error::ApiError;
use crate::identity::now_ms;
use crate::lang::Language;

async fn set_deleted(
    state: &AppState,
    access: &InWorkspace<Read>,
    id: &str,
    delete: bool,
    lang: engine::Lang,
) -> Result<record::Model, ApiError> {
    let txn = crate::db::write_txn(&state.db).await?;
    let found = super::load(state, access, &txn, id, Action::Delete, !delete).await?;
    let now = now_ms();
    let deleted_at = if delete { Some(now) } else { None };
    let ids = [found.id.clone()];
    let rollups = crate::reports::rollups::Maintained::load(&txn, &access.workspace.id, &found.form_id).await?;
    if delete {
        rollups.apply(&txn, &ids, -1).await?;
    }
    record::Entity::update_many()
        .col_expr(record::Column::DeletedAt, Expr::value(deleted_at))
        .col_expr(record::Column::Version, Expr::value(found.version + 1))
        .col_expr(record::Column::UpdatedAt, Expr::value(now))
        .filter(record::Column::Id.eq(found.id.as_str()))
        .exec(&txn)
        .await?;
    if !delete {
        rollups.apply(&txn, &ids, 1).await?;
    }
    // A deleted record frees its unique values; restoring claims them again, unless another
    // record took one meanwhile.
    if delete {
        super::unique::release(&txn, &found.id).await?;
    } else {
        let compiled = state.forms.get(&state.db, &found.form_id, found.form_version).await?;
        let taken = super::unique::claim(&txn, &compiled, &found.form_id, &found.id, &found.data).await?;
        if !taken.is_empty() {
            let mut issues = taken;
            engine::form::localize(&mut issues, lang);
            return Err(ApiError::new("conflict", "another record holds a unique value of this record")
                .with_details(json!({"errors": issues})));
        }
    }
    let entry = Entry {
        actor: &access.caller.user.id,
        action: if delete { "record.delete" } else { "record.restore" },
        object_type: "record",
        object_id: &found.id,
        changes: json!({"deleted": {"before": !delete, "after": delete}}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok(record::Model { deleted_at, version: found.version + 1, updated_at: now, ..found })
}

pub async fn delete(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    set_deleted(&state, &access, id, true, lang).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn restore(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    let restored = set_deleted(&state, &access, id, false, lang).await?;
    Ok(Json(json!({"id": restored.id, "version": restored.version, "deleted_at": null})))
}
