//! `POST /api/v1/workspaces/{ws}/forms/{form}/publish {confirm?}`: the draft becomes the next
//! immutable version. When stored records would not validate under it, the engine's
//! evolution report comes back (409) and publishing needs `"confirm": true`. `{dry_run: true}`
//! answers with what publishing would do and changes nothing.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use engine::form::{CompiledForm, RecordContext, compare, parse_definition};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Design, InWorkspace};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::authz::Action;
use crate::db::entities::{form, form_version, record};
use crate::error::ApiError;
use crate::identity::now_ms;
use crate::json::AppJson;
use crate::lang::Language;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    #[serde(default)]
    confirm: bool,
    /// Only report: what publishing would do (the version, the evolution report, whether it
    /// needs confirmation), without publishing. The designer shows this before the user
    /// confirms.
    #[serde(default)]
    dry_run: bool,
}

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
    AppJson(publish): AppJson<Publish>,
) -> Result<Json<Value>, ApiError> {
    let key = crate::routes::path_param(&params, "form");
    let txn = crate::db::write_txn(&state.db).await?;
    let form = super::load(&state, &access, &txn, key, Action::Design).await?;
    let confirm = publish.confirm || publish.dry_run;
    let mut published =
        publish_draft(&state, &txn, &access.workspace.id, &access.caller.user.id, form, confirm, lang).await?;
    if publish.dry_run {
        // Dropping the transaction rolls the trial publication back.
        drop(txn);
        let needs_confirmation = published["evolution"]["stored_values"].as_array().is_some_and(|v| !v.is_empty());
        published["dry_run"] = Value::Bool(true);
        published["needs_confirmation"] = Value::Bool(needs_confirmation);
        return Ok(Json(published));
    }
    txn.commit().await?;
    Ok(Json(published))
}

/// Publishes `form`'s draft as its next version inside the caller's transaction (the route
/// and pack installs share it): the draft must compile, a new unique field must not collide
/// in stored records, and stored records that would not validate need `confirm`.
pub async fn publish_draft(
    state: &AppState,
    txn: &DatabaseTransaction,
    workspace_id: &str,
    actor: &str,
    form: form::Model,
    confirm: bool,
    lang: engine::Lang,
) -> Result<Value, ApiError> {
    let compiled = CompiledForm::compile(&form.draft, lang).map_err(|issues| {
        ApiError::new("validation_failed", "the draft has problems").with_details(json!({"errors": issues}))
    })?;
    let mut report = Value::Null;
    if let Some(latest) = form.latest_version {
        let previous = form_version::Entity::find_by_id((form.id.clone(), latest))
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::internal(format!("form {} lacks its version {latest}", form.id)))?;
        if previous.definition == form.draft {
            return Err(ApiError::new("conflict", "the draft is the same as the latest version"));
        }
        let old = parse_definition(&previous.definition)
            .map_err(|_| ApiError::internal(format!("stored version {latest} of {} does not parse", form.id)))?;
        let before = state.forms.get(txn, &form.id, latest).await?;
        // The first version has no records; later ones rebuild the claims when the set of
        // unique fields changes.
        let unique_changed = before.unique_fields() != compiled.unique_fields();
        let stored = record::Entity::find()
            .filter(record::Column::FormId.eq(form.id.as_str()))
            .filter(record::Column::DeletedAt.is_null())
            .all(txn)
            .await?;
        let records: Vec<(&str, &Value)> = stored.iter().map(|r| (r.id.as_str(), &r.data)).collect();
        let ctx = RecordContext { lang, ..RecordContext::default() };
        let evolution = compare(&old, &compiled, records.clone(), &ctx);
        if unique_changed {
            let collisions = crate::routes::records::unique::rebuild(txn, &compiled, &form.id, &records).await?;
            if !collisions.is_empty() {
                let mut listed: Vec<Value> = Vec::new();
                for (record_id, mut issue) in collisions {
                    issue.message = issue.render(lang);
                    listed.push(json!({"record": record_id, "error": issue}));
                }
                return Err(ApiError::new(
                    "conflict",
                    "stored records share values of a field this version makes unique",
                )
                .with_details(json!({"duplicates": listed})));
            }
        }
        let needs_confirmation = !evolution.stored_values.is_empty();
        report = serde_json::to_value(&evolution).map_err(ApiError::internal)?;
        if needs_confirmation && !confirm {
            return Err(ApiError::new(
                "conflict",
                "stored records would not validate under this version; publish with \"confirm\": true",
            )
            .with_details(report));
        }
    }
    let version = form.latest_version.unwrap_or(0) + 1;
    let now = now_ms();
    form_version::ActiveModel {
        form_id: Set(form.id.clone()),
        version: Set(version),
        definition: Set(form.draft.clone()),
        published_by: Set(actor.to_owned()),
        published_at: Set(now),
    }
    .insert(txn)
    .await?;
    let form_id = form.id.clone();
    let mut active = form.into_active_model();
    active.latest_version = Set(Some(version));
    active.updated_at = Set(now);
    active.update(txn).await?;
    let entry = Entry {
        actor,
        action: "form.publish",
        object_type: "form",
        object_id: &form_id,
        changes: json!({"version": version, "confirmed": confirm}).into(),
        reason: None,
    };
    audit::append(txn, workspace_id, entry, now).await?;
    Ok(json!({"version": version, "evolution": report}))
}
