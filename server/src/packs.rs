//! Installing, upgrading and uninstalling template packs in a workspace (DESIGN §10), in the
//! caller's transaction, so an install is all or nothing.
//!
//! `pack_installs` keeps, per workspace and pack, the version and the exact contents that
//! were installed: the common ancestor when the next version merges three ways with the
//! workspace's current objects (`engine::pack`). Forms and workflows are saved as drafts and
//! published; dashboards are stored. A pack never deletes a form or workflow: they hold the
//! factory's data and history.

use std::collections::{BTreeMap, BTreeSet};

use engine::pack::{Change, Contents, Kind, Pack, Step, Version, plan_upgrade, set_at};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, ModelTrait,
    QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::db::entities::{
    connector, dashboard, form, pack_install, workflow, workflow_instance, workflow_schedule, workflow_version,
};
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};

/// The shipped packs, parsed once per process (they are checked by the library's tests).
pub fn library() -> Vec<Pack> {
    templates_library::library().unwrap_or_else(|issues| panic!("the shipped packs do not parse: {issues:?}"))
}

fn object_id(kind: Kind, key: &str) -> String {
    format!("{}/{key}", kind.as_str())
}

fn stored(pack: &Pack) -> Value {
    let objects: serde_json::Map<String, Value> =
        pack.contents.iter().map(|((kind, key), value)| (object_id(*kind, key), value.clone())).collect();
    json!({
        "objects": objects,
        "roles": pack.manifest.roles.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
        "connectors": pack.manifest.connectors.iter().map(|c| json!({"name": c.name, "operations": c.operations})).collect::<Vec<_>>(),
    })
}

fn contents_of(stored: &Value) -> Contents {
    let mut contents = Contents::new();
    for (id, value) in stored["objects"].as_object().into_iter().flatten() {
        let kind = match id.split_once('/') {
            Some(("form", key)) => (Kind::Form, key),
            Some(("workflow", key)) => (Kind::Workflow, key),
            Some(("dashboard", key)) => (Kind::Dashboard, key),
            _ => continue,
        };
        contents.insert((kind.0, kind.1.to_owned()), value.clone());
    }
    contents
}

/// Roles and connector placeholders the workspace's installed packs declare.
pub async fn declared(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> Result<(BTreeSet<String>, BTreeMap<String, Vec<String>>), ApiError> {
    let mut roles = BTreeSet::new();
    let mut connectors = BTreeMap::new();
    for row in pack_install::Entity::find().filter(pack_install::Column::WorkspaceId.eq(workspace_id)).all(db).await? {
        roles.extend(
            row.contents["roles"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned),
        );
        for c in row.contents["connectors"].as_array().into_iter().flatten() {
            let operations =
                c["operations"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned);
            connectors.insert(c["name"].as_str().unwrap_or_default().to_owned(), operations.collect());
        }
    }
    Ok((roles, connectors))
}

/// Which side wins a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The workspace's value (the factory's change).
    Ours,
    /// The new pack version's value.
    Theirs,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Compute and report everything, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Publish form versions under which stored records would not validate.
    #[serde(default)]
    pub confirm: bool,
    /// `"form/iqc"` -> conflict path -> side.
    #[serde(default)]
    pub resolutions: BTreeMap<String, BTreeMap<String, Side>>,
}

/// What an install or upgrade of one pack did (or, in a dry run, would do).
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub pack: String,
    pub from: Option<String>,
    pub to: String,
    pub steps: Vec<Step>,
    /// Connector placeholders with no connector in the workspace yet: an administrator
    /// creates them (addresses, credentials) before the workflows can call out.
    pub connectors_to_configure: Vec<String>,
}

/// The workspace's form `key`, if it has one.
async fn form_row(db: &impl ConnectionTrait, workspace_id: &str, key: &str) -> Result<Option<form::Model>, ApiError> {
    Ok(form::Entity::find()
        .filter(form::Column::WorkspaceId.eq(workspace_id))
        .filter(form::Column::Key.eq(key))
        .one(db)
        .await?)
}

async fn current(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    keys: &BTreeSet<(Kind, String)>,
) -> Result<Contents, ApiError> {
    let mut contents = Contents::new();
    for (kind, key) in keys {
        let value = match kind {
            Kind::Form => form_row(db, workspace_id, key).await?.map(|f| f.draft),
            Kind::Workflow => workflow::Entity::find()
                .filter(workflow::Column::WorkspaceId.eq(workspace_id))
                .filter(workflow::Column::Key.eq(key.as_str()))
                .one(db)
                .await?
                .map(|w| w.draft),
            Kind::Dashboard => crate::routes::dashboards_load(db, workspace_id, key).await.ok().map(|d| d.definition),
        };
        if let Some(value) = value {
            contents.insert((*kind, key.clone()), value);
        }
    }
    Ok(contents)
}

/// Where and as whom an install runs.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub workspace_id: &'a str,
    /// The user recorded in the audit log.
    pub actor: &'a str,
    /// The language of problems reported.
    pub lang: engine::Lang,
}

/// Installs `key` (and, first, any dependency not installed yet), or upgrades it to the
/// library's version; returns one outcome per pack touched, dependencies first.
pub async fn install(
    state: &AppState,
    txn: &DatabaseTransaction,
    library: &[Pack],
    target: Target<'_>,
    key: &str,
    options: &Options,
) -> Result<Vec<Outcome>, ApiError> {
    let workspace_id = target.workspace_id;
    let mut order = Vec::new();
    collect(library, key, &mut order)?;
    let mut outcomes = Vec::new();
    for pack in order {
        let installed =
            pack_install::Entity::find_by_id((workspace_id.to_owned(), pack.manifest.key.clone())).one(txn).await?;
        // Dependencies already installed are left as they are; the pack asked for is
        // installed or upgraded.
        if installed.is_some() && pack.manifest.key != key {
            continue;
        }
        outcomes.push(install_one(state, txn, pack, installed, target, options).await?);
    }
    Ok(outcomes)
}

/// `key` and its dependencies, dependencies first.
fn collect<'a>(library: &'a [Pack], key: &str, order: &mut Vec<&'a Pack>) -> Result<(), ApiError> {
    let pack = library
        .iter()
        .find(|p| p.manifest.key == key)
        .ok_or_else(|| ApiError::new("not_found", format!("no pack {key:?} in the library")))?;
    for dependency in &pack.manifest.depends {
        collect(library, &dependency.key, order)?;
    }
    if !order.iter().any(|p| p.manifest.key == pack.manifest.key) {
        order.push(pack);
    }
    Ok(())
}

async fn install_one(
    state: &AppState,
    txn: &DatabaseTransaction,
    pack: &Pack,
    installed: Option<pack_install::Model>,
    target: Target<'_>,
    options: &Options,
) -> Result<Outcome, ApiError> {
    let Target { workspace_id, actor, lang } = target;
    let to = pack.manifest.version.clone();
    let from = installed.as_ref().map(|i| i.version.clone());
    if let (Some(from), Some(to)) = (from.as_deref().and_then(Version::parse), Version::parse(&to))
        && from > to
    {
        return Err(ApiError::new("conflict", format!("version {from} is installed; the library has the older {to}")));
    }
    let base = installed.as_ref().map(|i| contents_of(&i.contents));
    let mut keys: BTreeSet<(Kind, String)> = pack.contents.keys().cloned().collect();
    keys.extend(base.iter().flat_map(|b| b.keys().cloned()));
    let now_current = current(txn, workspace_id, &keys).await?;
    let mut steps = plan_upgrade(base.as_ref(), &now_current, &pack.contents);
    let mut unresolved = Vec::new();
    for step in &mut steps {
        let id = object_id(step.kind, &step.key);
        match &mut step.change {
            // Forms and workflows hold the factory's records and history: never deleted.
            Change::Remove if step.kind != Kind::Dashboard => {
                step.change = Change::KeepLocal { reason: "dropped by the pack, kept because it holds data" };
            }
            Change::Update { value, conflicts } => {
                for conflict in conflicts.iter() {
                    match options.resolutions.get(&id).and_then(|r| r.get(&conflict.path)) {
                        Some(Side::Theirs) => {
                            set_at(value, &conflict.path, conflict.theirs.clone());
                        }
                        Some(Side::Ours) => {}
                        None => unresolved.push(json!({"object": id, "path": conflict.path})),
                    }
                }
            }
            _ => {}
        }
    }
    let mut configured = BTreeSet::new();
    for c in connector::Entity::find().filter(connector::Column::WorkspaceId.eq(workspace_id)).all(txn).await? {
        configured.insert(c.name);
    }
    let outcome = Outcome {
        pack: pack.manifest.key.clone(),
        from,
        to,
        connectors_to_configure: pack
            .manifest
            .connectors
            .iter()
            .filter(|c| !configured.contains(&c.name))
            .map(|c| c.name.clone())
            .collect(),
        steps,
    };
    if options.dry_run {
        return Ok(outcome);
    }
    if !unresolved.is_empty() {
        return Err(ApiError::new(
            "conflict",
            "the upgrade conflicts with changes made in this workspace: resolve each (ours or theirs) and try again",
        )
        .with_details(json!({"unresolved": unresolved, "plan": outcome})));
    }
    let now = now_ms();
    // Record the install first, so that workflows published below see the pack's roles and
    // connector placeholders.
    let contents = stored(pack);
    match installed {
        Some(row) => {
            let mut active = row.into_active_model();
            active.version = Set(pack.manifest.version.clone());
            active.contents = Set(contents);
            active.updated_at = Set(now);
            active.update(txn).await?;
        }
        None => {
            pack_install::ActiveModel {
                workspace_id: Set(workspace_id.to_owned()),
                pack_key: Set(pack.manifest.key.clone()),
                version: Set(pack.manifest.version.clone()),
                contents: Set(contents),
                installed_by: Set(actor.to_owned()),
                installed_at: Set(now),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?;
        }
    }
    // Forms before workflows before dashboards (the order of `Kind`): each may need the last.
    for step in &outcome.steps {
        apply(state, txn, workspace_id, actor, step, options.confirm, lang).await?;
    }
    let entry = Entry {
        actor,
        action: if outcome.from.is_some() { "pack.upgrade" } else { "pack.install" },
        object_type: "pack",
        object_id: &outcome.pack,
        changes: json!({"from": outcome.from, "to": outcome.to}).into(),
        reason: None,
    };
    audit::append(txn, workspace_id, entry, now).await?;
    Ok(outcome)
}

async fn apply(
    state: &AppState,
    txn: &DatabaseTransaction,
    workspace_id: &str,
    actor: &str,
    step: &Step,
    confirm: bool,
    lang: engine::Lang,
) -> Result<(), ApiError> {
    let now = now_ms();
    let value = match &step.change {
        Change::Create { value } | Change::Update { value, .. } => value.clone(),
        Change::Remove => {
            if let Ok(row) = crate::routes::dashboards_load(txn, workspace_id, &step.key).await {
                row.delete(txn).await?;
            }
            return Ok(());
        }
        Change::Unchanged | Change::KeepLocal { .. } => return Ok(()),
    };
    let created = matches!(step.change, Change::Create { .. });
    match step.kind {
        Kind::Form => {
            let row = if created {
                form::ActiveModel {
                    id: Set(new_id()),
                    workspace_id: Set(workspace_id.to_owned()),
                    key: Set(step.key.clone()),
                    draft: Set(value),
                    latest_version: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(txn)
                .await?
            } else {
                let row = form_row(txn, workspace_id, &step.key)
                    .await?
                    .ok_or_else(|| ApiError::internal("a form to upgrade vanished"))?;
                let mut active = row.into_active_model();
                active.draft = Set(value);
                active.updated_at = Set(now);
                active.update(txn).await?
            };
            crate::routes::publish_form(state, txn, workspace_id, actor, row, confirm || created, lang).await?;
        }
        Kind::Workflow => {
            let form_key = value["form"].as_str().unwrap_or_default().to_owned();
            let row = if created {
                workflow::ActiveModel {
                    id: Set(new_id()),
                    workspace_id: Set(workspace_id.to_owned()),
                    key: Set(step.key.clone()),
                    form_key: Set(form_key),
                    draft: Set(value),
                    latest_version: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(txn)
                .await?
            } else {
                let row = crate::routes::workflows_load(txn, workspace_id, &step.key).await?;
                let mut active = row.into_active_model();
                active.draft = Set(value);
                active.form_key = Set(form_key);
                active.updated_at = Set(now);
                active.update(txn).await?
            };
            crate::routes::publish_workflow(state, txn, workspace_id, actor, row, lang).await?;
        }
        Kind::Dashboard => {
            if created {
                dashboard::ActiveModel {
                    id: Set(new_id()),
                    workspace_id: Set(workspace_id.to_owned()),
                    key: Set(step.key.clone()),
                    definition: Set(value),
                    version: Set(1),
                    created_by: Set(actor.to_owned()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(txn)
                .await?;
            } else {
                let row = crate::routes::dashboards_load(txn, workspace_id, &step.key).await?;
                let version = row.version + 1;
                let mut active = row.into_active_model();
                active.definition = Set(value);
                active.version = Set(version);
                active.updated_at = Set(now);
                active.update(txn).await?;
            }
        }
    }
    Ok(())
}

/// Forgets the pack in the workspace. Its objects stay (and stay editable) unless `delete`:
/// then its dashboards go, its workflows that never ran go, and its forms without records
/// or workflows go; what stays is listed.
pub async fn uninstall(
    txn: &DatabaseTransaction,
    workspace_id: &str,
    actor: &str,
    key: &str,
    delete: bool,
) -> Result<Vec<String>, ApiError> {
    let row = pack_install::Entity::find_by_id((workspace_id.to_owned(), key.to_owned()))
        .one(txn)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let contents = contents_of(&row.contents);
    row.delete(txn).await?;
    let mut kept = Vec::new();
    for (kind, object) in contents.keys() {
        let id = object_id(*kind, object);
        if !delete {
            kept.push(id);
            continue;
        }
        match kind {
            Kind::Dashboard => {
                if let Ok(row) = crate::routes::dashboards_load(txn, workspace_id, object).await {
                    row.delete(txn).await?;
                }
            }
            Kind::Workflow => {
                let Ok(row) = crate::routes::workflows_load(txn, workspace_id, object).await else { continue };
                // Instances are the records' history: a workflow that ever ran stays.
                let ran = workflow_instance::Entity::find()
                    .filter(workflow_instance::Column::WorkflowId.eq(row.id.as_str()))
                    .one(txn)
                    .await?;
                if ran.is_some() {
                    kept.push(id);
                } else {
                    workflow_schedule::Entity::delete_many()
                        .filter(workflow_schedule::Column::WorkflowId.eq(row.id.as_str()))
                        .exec(txn)
                        .await?;
                    workflow_version::Entity::delete_many()
                        .filter(workflow_version::Column::WorkflowId.eq(row.id.as_str()))
                        .exec(txn)
                        .await?;
                    row.delete(txn).await?;
                }
            }
            Kind::Form => {
                let Some(row) = form_row(txn, workspace_id, object).await? else { continue };
                let has_records = crate::db::entities::record::Entity::find()
                    .filter(crate::db::entities::record::Column::FormId.eq(row.id.as_str()))
                    .one(txn)
                    .await?
                    .is_some();
                let has_workflows = workflow::Entity::find()
                    .filter(workflow::Column::WorkspaceId.eq(workspace_id))
                    .filter(workflow::Column::FormKey.eq(object.as_str()))
                    .one(txn)
                    .await?
                    .is_some();
                if has_records || has_workflows {
                    kept.push(id);
                } else {
                    crate::db::entities::form_version::Entity::delete_many()
                        .filter(crate::db::entities::form_version::Column::FormId.eq(row.id.as_str()))
                        .exec(txn)
                        .await?;
                    row.delete(txn).await?;
                }
            }
        }
    }
    let entry = Entry {
        actor,
        action: "pack.uninstall",
        object_type: "pack",
        object_id: key,
        changes: json!({"delete": delete, "kept": kept}).into(),
        reason: None,
    };
    audit::append(txn, workspace_id, entry, now_ms()).await?;
    Ok(kept)
}
