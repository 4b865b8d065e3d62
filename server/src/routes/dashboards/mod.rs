//! `/api/v1/workspaces/{ws}/dashboards`: saved dashboards (a grid of report widgets with
//! shared filters). Designers save them; anyone who may read the workspace lists and runs
//! them, and each widget then answers with what that reader may see.

pub mod run;

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use engine::Lang;
use engine::form::Issue;
use engine::report::{Dashboard, parse_dashboard};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::access::{Design, InWorkspace, Read};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::db::entities::dashboard;
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};
use crate::json::AppJson;
use crate::lang::Language;

fn view(row: &dashboard::Model) -> Value {
    json!({"key": row.key, "definition": row.definition, "version": row.version, "updated_at": row.updated_at})
}

pub async fn load(db: &impl ConnectionTrait, workspace_id: &str, key: &str) -> Result<dashboard::Model, ApiError> {
    dashboard::Entity::find()
        .filter(dashboard::Column::WorkspaceId.eq(workspace_id))
        .filter(dashboard::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The definition checked: its own structure, and every widget's report against its form as
/// the designer sees it (unknown forms and fields, wrong types), with paths into the widget.
async fn checked(
    state: &AppState,
    access: &InWorkspace<Design>,
    lang: Lang,
    definition: &Value,
) -> Result<Dashboard, ApiError> {
    let invalid = |mut issues: Vec<Issue>| {
        engine::form::localize(&mut issues, lang);
        ApiError::new("validation_failed", "the dashboard has problems").with_details(json!({"errors": issues}))
    };
    let dashboard = parse_dashboard(definition).map_err(invalid)?;
    let mut issues = dashboard.check();
    for (i, widget) in dashboard.widgets.iter().enumerate() {
        let mut kinds = Vec::new();
        for (at, report) in widget.reports() {
            let prefix = format!("/widgets/{i}/{at}");
            let planned = match crate::routes::reports::plan_for(state, access, lang, report).await {
                Ok(planned) => planned,
                Err(error) if error.code == "not_found" => {
                    issues.push(
                        Issue::new(format!("{prefix}/form"), engine::form::Code::UnknownReference)
                            .param("name", report.form.as_str()),
                    );
                    continue;
                }
                Err(error) => return Err(error),
            };
            match planned {
                Ok(planned) => kinds.push(planned.kinds),
                Err(found) => issues.extend(found.into_iter().map(|mut issue| {
                    issue.path = format!("{prefix}{}", issue.path);
                    issue
                })),
            }
        }
        // A shared filter must name a field every form of the widget has.
        for (filter, field) in &widget.filters {
            let known = field == "created_at" || kinds.iter().all(|k| k.iter().any(|(key, _)| key == field));
            if !known {
                issues.push(
                    Issue::new(format!("/widgets/{i}/filters/{filter}"), engine::form::Code::UnknownField)
                        .param("field", field.as_str()),
                );
            }
        }
    }
    if issues.is_empty() { Ok(dashboard) } else { Err(invalid(issues)) }
}

pub async fn list(State(state): State<AppState>, access: InWorkspace<Read>) -> Result<Json<Value>, ApiError> {
    let rows = dashboard::Entity::find()
        .filter(dashboard::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .order_by_asc(dashboard::Column::Key)
        .all(&state.db)
        .await?;
    Ok(Json(json!({"items": rows.iter().map(view).collect::<Vec<_>>()})))
}

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let row = load(&state.db, &access.workspace.id, super::path_param(&params, "key")).await?;
    Ok(Json(view(&row)))
}

pub async fn create(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    AppJson(definition): AppJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let dashboard = checked(&state, &access, lang, &definition).await?;
    let txn = crate::db::write_txn(&state.db).await?;
    if load(&txn, &access.workspace.id, &dashboard.key).await.is_ok() {
        return Err(ApiError::new("already_exists", "a dashboard with this key exists"));
    }
    let now = now_ms();
    let created = dashboard::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(access.workspace.id.clone()),
        key: Set(dashboard.key.clone()),
        definition: Set(definition),
        version: Set(1),
        created_by: Set(access.caller.user.id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "dashboard.create",
        object_type: "dashboard",
        object_id: &created.id,
        changes: json!({"key": dashboard.key}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(view(&created))))
}

pub async fn save(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
    AppJson(definition): AppJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let key = super::path_param(&params, "key");
    let dashboard = checked(&state, &access, lang, &definition).await?;
    if dashboard.key != key {
        return Err(ApiError::new("bad_request", "the definition's key must match the dashboard's key"));
    }
    let txn = crate::db::write_txn(&state.db).await?;
    let row = load(&txn, &access.workspace.id, key).await?;
    let now = now_ms();
    let version = row.version + 1;
    let mut active: dashboard::ActiveModel = row.clone().into();
    active.definition = Set(definition);
    active.version = Set(version);
    active.updated_at = Set(now);
    let saved = active.update(&txn).await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "dashboard.save",
        object_type: "dashboard",
        object_id: &row.id,
        changes: json!({"key": key, "version": version}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok(Json(view(&saved)))
}

pub async fn delete(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let key = super::path_param(&params, "key");
    let txn = crate::db::write_txn(&state.db).await?;
    let row = load(&txn, &access.workspace.id, key).await?;
    let id = row.id.clone();
    row.delete(&txn).await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "dashboard.delete",
        object_type: "dashboard",
        object_id: &id,
        changes: json!({"key": key}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now_ms()).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
