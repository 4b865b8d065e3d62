//! `POST /api/v1/workspaces/{ws}/workflows/{key}/publish`: checks the draft against the
//! workspace (its forms and their fields, roles, connectors) and stores it as the next
//! immutable version. New instances start on it; running ones keep theirs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use engine::workflow::{BUILT_IN_ROLES, Catalog, CompiledWorkflow, parse_workflow};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::access::{Design, InWorkspace};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::db::entities::{connector, form, workflow, workflow_version};
use crate::error::ApiError;
use crate::identity::now_ms;
use crate::lang::Language;

/// What a workflow in `workspace_id` may refer to.
pub async fn catalog(state: &AppState, db: &impl ConnectionTrait, workspace_id: &str) -> Result<Catalog, ApiError> {
    let mut forms = BTreeMap::new();
    for row in form::Entity::find().filter(form::Column::WorkspaceId.eq(workspace_id)).all(db).await? {
        let Some(version) = row.latest_version else { continue };
        let compiled = state.forms.get(db, &row.id, version).await?;
        let keys =
            engine::form::data_fields(&compiled.definition().fields).into_iter().map(|(f, _)| f.key.clone()).collect();
        forms.insert(row.key, keys);
    }
    let mut roles: BTreeSet<String> = BTreeSet::from_iter(BUILT_IN_ROLES.iter().map(|r| r.to_string()));
    roles.extend(crate::workflows::role_members(db, workspace_id).await?.into_keys());
    // Installed packs declare their roles and the connectors their workflows call; a
    // connector an administrator has not created yet is known by its placeholder.
    let (pack_roles, placeholders) = crate::packs::declared(db, workspace_id).await?;
    roles.extend(pack_roles);
    let mut connectors: BTreeMap<String, Vec<String>> = placeholders;
    for c in connector::Entity::find().filter(connector::Column::WorkspaceId.eq(workspace_id)).all(db).await? {
        let operations = crate::workflows::connectors::operations(&c);
        connectors.insert(c.name.clone(), operations);
    }
    Ok(Catalog { forms, roles, connectors })
}

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let key = crate::routes::path_param(&params, "key");
    let txn = crate::db::write_txn(&state.db).await?;
    let row = super::load(&txn, &access.workspace.id, key).await?;
    let key = row.key.clone();
    let version = publish_draft(&state, &txn, &access.workspace.id, &access.caller.user.id, row, lang).await?;
    txn.commit().await?;
    Ok(Json(json!({"key": key, "version": version})))
}

/// Publishes the workflow's draft as its next version inside the caller's transaction (the
/// route and pack installs share it), checked against the workspace's forms, roles and
/// connectors as they are in that transaction.
pub async fn publish_draft(
    state: &AppState,
    txn: &DatabaseTransaction,
    workspace_id: &str,
    actor: &str,
    row: workflow::Model,
    lang: engine::Lang,
) -> Result<i32, ApiError> {
    let definition = parse_workflow(&row.draft).map_err(|message| {
        ApiError::new("validation_failed", "the workflow has problems").with_details(json!({"errors": [
            {"path": "", "code": "invalid_definition", "message": message}
        ]}))
    })?;
    let catalog = catalog(state, txn, workspace_id).await?;
    let trigger = serde_json::to_value(&definition.trigger).ok().and_then(|t| t.get("on").cloned()).unwrap_or_default();
    let compiled = match CompiledWorkflow::compile(definition, Some(&catalog)) {
        Ok(compiled) => compiled,
        Err(mut issues) => {
            engine::form::localize(&mut issues, lang);
            return Err(
                ApiError::new("validation_failed", "the workflow has problems").with_details(json!({"errors": issues}))
            );
        }
    };
    let version = row.latest_version.unwrap_or(0) + 1;
    let now = now_ms();
    workflow_version::Entity::insert(workflow_version::ActiveModel {
        workflow_id: Set(row.id.clone()),
        version: Set(version),
        form_key: Set(row.form_key.clone()),
        trigger: Set(trigger.as_str().unwrap_or_default().to_owned()),
        definition: Set(row.draft.clone()),
        published_by: Set(actor.to_owned()),
        published_at: Set(now),
    })
    .exec(txn)
    .await?;
    workflow::Entity::update_many()
        .col_expr(workflow::Column::LatestVersion, Expr::value(version))
        .col_expr(workflow::Column::UpdatedAt, Expr::value(now))
        .filter(workflow::Column::Id.eq(row.id.as_str()))
        .exec(txn)
        .await?;
    crate::workflows::schedules::on_publish(txn, &row, compiled.schedule_every(), now).await?;
    let entry = Entry {
        actor,
        action: "workflow.publish",
        object_type: "workflow",
        object_id: &row.id,
        changes: json!({"version": version}).into(),
        reason: None,
    };
    audit::append(txn, workspace_id, entry, now).await?;
    Ok(version)
}
