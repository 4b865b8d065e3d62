//! `formwork serve --demo`: a workspace `demo` with every shipped pack installed, a demo
//! user per role and months of sample records from the packs' generators, so that every
//! dashboard shows something on first start. Created once; later starts leave it alone.

use std::collections::BTreeMap;

use engine::form::RecordContext;
use engine::pack::sample;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::app::AppState;
use crate::audit::{Entry, Staged};
use crate::db::entities::{form, membership, record, workspace};
use crate::error::ApiError;
use crate::identity::{new_id, now_ms};
use crate::packs::{Options, Target};

pub const SLUG: &str = "demo";

/// The demo users and their roles in the workspace. Besides their quality role, each reads
/// every record (`viewer`): in a factory the quality staff see all inspections, not only
/// their own.
const USERS: &[(&str, &str, &[&str])] = &[
    ("inspector", "Iris Inspector / 检验员", &["member", "viewer", "inspector"]),
    ("qe", "Quentin QE / 质量工程师", &["member", "viewer", "qe"]),
    ("mrb1", "Mia MRB / 评审委员", &["approver", "viewer", "mrb"]),
    ("mrb2", "Ming MRB / 评审委员", &["approver", "viewer", "mrb"]),
    ("buyer", "Bo Buyer / 采购员", &["member", "viewer", "buyer"]),
    ("manager", "Mara Manager / 质量经理", &["approver", "viewer", "quality_manager"]),
    ("viewer", "Victor Viewer / 访客", &["viewer"]),
];

/// The demo users' names.
pub fn usernames() -> Vec<&'static str> {
    USERS.iter().map(|(username, _, _)| *username).collect()
}

/// What was created, for the start-up message.
pub struct Demo {
    pub password: String,
    pub records: usize,
}

/// Creates the demo workspace unless it exists (then `None`).
pub async fn ensure(state: &AppState, admin_id: &str) -> Result<Option<Demo>, ApiError> {
    let exists = workspace::Entity::find().filter(workspace::Column::Slug.eq(SLUG)).one(&state.db).await?;
    if exists.is_some() {
        return Ok(None);
    }
    let now = now_ms();
    let txn = crate::db::write_txn(&state.db).await?;
    let workspace_id = new_id();
    workspace::ActiveModel {
        id: Set(workspace_id.clone()),
        slug: Set(SLUG.to_owned()),
        name: Set("Demo factory / 演示工厂".to_owned()),
        created_at: Set(now),
        utc_offset_minutes: Set(480),
    }
    .insert(&txn)
    .await?;
    membership::ActiveModel {
        workspace_id: Set(workspace_id.clone()),
        user_id: Set(admin_id.to_owned()),
        roles: Set(json!(["admin"])),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let password = format!("demo-{}", &crate::identity::new_secret()[..10]);
    for (username, name, roles) in USERS {
        let user = crate::identity::users::create(&txn, username, name, &password, false)
            .await
            .map_err(|e| ApiError::new("conflict", format!("demo user {username}: {e}")))?;
        membership::ActiveModel {
            workspace_id: Set(workspace_id.clone()),
            user_id: Set(user.id),
            roles: Set(json!(roles)),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let target = Target { workspace_id: &workspace_id, actor: admin_id, lang: engine::Lang::En };
    for pack in state.packs.iter() {
        let installed =
            crate::db::entities::pack_install::Entity::find_by_id((workspace_id.clone(), pack.manifest.key.clone()))
                .one(&txn)
                .await?;
        if installed.is_none() {
            crate::packs::install(state, &txn, &state.packs, target, &pack.manifest.key, &Options::default()).await?;
        }
    }
    let records = sample_records(state, &txn, &workspace_id).await?;
    txn.commit().await?;
    Ok(Some(Demo { password, records }))
}

/// Generates every pack's sample records up to today (the workspace's local date), runs each
/// through its form (computed fields, auto-numbers) and stores it as created on its day.
async fn sample_records(
    state: &AppState,
    txn: &sea_orm::DatabaseTransaction,
    workspace_id: &str,
) -> Result<usize, ApiError> {
    let today = crate::clock::today_at(480);
    let mut forms = BTreeMap::new();
    let mut audit = Staged::default();
    audit.open(txn, workspace_id).await?;
    let mut staged = Vec::new();
    let mut unique_skipped = 0;
    let mut counters = crate::db::counters::Counters::default();
    for (seed, pack) in state.packs.iter().enumerate() {
        let Some(spec) = &pack.manifest.sample else { continue };
        for (form_key, day, data) in sample::generate(spec, today, 0x5eed + seed as u64) {
            if !forms.contains_key(&form_key) {
                let row = form::Entity::find()
                    .filter(form::Column::WorkspaceId.eq(workspace_id))
                    .filter(form::Column::Key.eq(form_key.as_str()))
                    .one(txn)
                    .await?
                    .ok_or_else(|| ApiError::internal(format!("sample data for a form not installed: {form_key}")))?;
                let version =
                    row.latest_version.ok_or_else(|| ApiError::internal("an installed form is unpublished"))?;
                let compiled = state.forms.get(txn, &row.id, version).await?;
                forms.insert(form_key.clone(), (row.id, version, compiled));
            }
            let (form_id, version, compiled) = &forms[&form_key];
            let mark = counters.mark();
            let sequences =
                crate::routes::draw_numbers(txn, &mut counters, workspace_id, form_id, compiled, day).await?;
            let ctx = RecordContext { today: Some(day), sequences, system: true, ..RecordContext::default() };
            let outcome = compiled.process_owned(data, &ctx);
            if !outcome.is_valid() {
                return Err(ApiError::internal(format!("sample {form_key} record invalid: {:?}", outcome.issues)));
            }
            let id = new_id();
            let unique: Vec<&str> = compiled.unique_fields().to_vec();
            if !crate::routes::claim_unique(txn, &unique, form_id, &id, &outcome.record).await?.is_empty() {
                unique_skipped += 1;
                counters.reset(mark);
                continue;
            }
            // Created at 09:00 local time on its day.
            let at = (engine::report::days_from_civil(day) * 86_400 + 3_600) * 1000;
            let entry = Entry {
                actor: "demo",
                action: "record.create",
                object_type: "record",
                object_id: &id,
                changes: json!({"sample": true}).into(),
                reason: Some("demo sample data"),
            };
            audit.append(workspace_id, entry, at)?;
            staged.push(record::ActiveModel {
                id: Set(id),
                workspace_id: Set(workspace_id.to_owned()),
                form_id: Set(form_id.clone()),
                form_version: Set(*version),
                data: Set(outcome.record),
                version: Set(1),
                created_by: Set("demo".to_owned()),
                created_at: Set(at),
                updated_at: Set(at),
                deleted_at: Set(None),
            });
        }
    }
    let count = staged.len();
    for chunk in staged.chunks(500) {
        let added = crate::reports::rollups::Added::of(
            chunk
                .iter()
                .filter_map(|r| Some((r.workspace_id.try_as_ref()?, r.form_id.try_as_ref()?, r.id.try_as_ref()?))),
        );
        record::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
        added.apply(txn).await?;
    }
    counters.flush(txn).await?;
    audit.flush(txn).await?;
    if unique_skipped > 0 {
        tracing::info!(unique_skipped, "demo: sample records repeating a unique value were left out");
    }
    Ok(count)
}
