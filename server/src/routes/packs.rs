//! Template packs: the library this binary ships (`GET /api/v1/packs`), and per workspace
//! what is installed, install/upgrade (one endpoint: a pack not installed is installed, an
//! installed one moves to the library's version) with a dry run, and uninstall.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use engine::Lang;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Admin, InWorkspace, Read};
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::entities::pack_install;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::lang::Language;
use crate::packs::{Options, Target, install, uninstall as forget};

fn text(value: &engine::I18nText, lang: Lang) -> Value {
    json!(value.get(lang))
}

pub async fn library(State(state): State<AppState>, _caller: Caller, Language(lang): Language) -> Json<Value> {
    let items: Vec<Value> = state
        .packs
        .iter()
        .map(|p| {
            let keys = |kind| p.objects(kind).map(|(k, _)| k.to_owned()).collect::<Vec<_>>();
            json!({
                "key": p.manifest.key, "version": p.manifest.version,
                "name": text(&p.manifest.name, lang), "description": text(&p.manifest.description, lang),
                "depends": p.manifest.depends.iter().map(|d| d.key.clone()).collect::<Vec<_>>(),
                "roles": p.manifest.roles.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
                "connectors": p.manifest.connectors.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                "forms": keys(engine::pack::Kind::Form),
                "workflows": keys(engine::pack::Kind::Workflow),
                "dashboards": keys(engine::pack::Kind::Dashboard),
            })
        })
        .collect();
    Json(json!({"items": items}))
}

pub async fn installed(State(state): State<AppState>, access: InWorkspace<Read>) -> Result<Json<Value>, ApiError> {
    let rows = pack_install::Entity::find()
        .filter(pack_install::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .all(&state.db)
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|row| {
            let library =
                state.packs.iter().find(|p| p.manifest.key == row.pack_key).map(|p| p.manifest.version.clone());
            let newer =
                library.as_deref().and_then(engine::pack::Version::parse) > engine::pack::Version::parse(&row.version);
            json!({"key": row.pack_key, "version": row.version, "library_version": library, "upgrade_available": newer,
                   "installed_at": row.installed_at, "updated_at": row.updated_at})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn post_install(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
    AppJson(options): AppJson<Options>,
) -> Result<Json<Value>, ApiError> {
    let key = super::path_param(&params, "key");
    let txn = crate::db::write_txn(&state.db).await?;
    let target = Target { workspace_id: &access.workspace.id, actor: &access.caller.user.id, lang };
    let result = install(&state, &txn, &state.packs, target, key, &options).await;
    let outcomes = match result {
        Ok(outcomes) if !options.dry_run => {
            txn.commit().await?;
            outcomes
        }
        other => {
            // A dry run, or a failure: nothing stays, including compiled versions cached
            // from inside the transaction.
            txn.rollback().await?;
            state.forms.clear();
            other?
        }
    };
    Ok(Json(json!({"dry_run": options.dry_run, "packs": outcomes})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Uninstall {
    /// Also delete the pack's dashboards, its workflows that never ran and its forms without
    /// records; without it everything stays, no longer tracked as the pack's.
    #[serde(default)]
    delete: bool,
}

pub async fn post_uninstall(
    State(state): State<AppState>,
    access: InWorkspace<Admin>,
    Path(params): Path<HashMap<String, String>>,
    AppJson(body): AppJson<Uninstall>,
) -> Result<Json<Value>, ApiError> {
    let key = super::path_param(&params, "key");
    let txn = crate::db::write_txn(&state.db).await?;
    let kept = forget(&txn, &access.workspace.id, &access.caller.user.id, key, body.delete).await?;
    txn.commit().await?;
    Ok(Json(json!({"pack": key, "kept": kept})))
}
