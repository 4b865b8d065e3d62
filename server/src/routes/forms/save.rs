//! `PUT /api/v1/workspaces/{ws}/forms/{form}`: saves the draft (published versions never change).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

use crate::access::{Design, InWorkspace};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::authz::Action;
use crate::error::ApiError;
use crate::identity::now_ms;
use crate::json::AppJson;
use crate::lang::Language;

pub async fn put(
    State(state): State<AppState>,
    access: InWorkspace<Design>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
    AppJson(draft): AppJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let key = crate::routes::path_param(&params, "form");
    if super::check_draft_shape(&draft)? != key {
        return Err(ApiError::new("bad_request", "the definition's key must stay the form's key"));
    }
    let txn = crate::db::write_txn(&state.db).await?;
    let form = super::load(&state, &access, &txn, key, Action::Design).await?;
    let changed = changed_fields(&form.draft, &draft);
    let form_id = form.id.clone();
    let mut active = form.into_active_model();
    let now = now_ms();
    active.draft = Set(draft);
    active.updated_at = Set(now);
    let saved = active.update(&txn).await?;
    let entry = Entry {
        actor: &access.caller.user.id,
        action: "form.save_draft",
        object_type: "form",
        object_id: &form_id,
        changes: json!({"fields": changed}).into(),
        reason: None,
    };
    audit::append(&txn, &access.workspace.id, entry, now).await?;
    txn.commit().await?;
    Ok(Json(super::view(&saved, lang)))
}

/// Keys of the fields added, removed or changed between two drafts (top-level list).
fn changed_fields(before: &Value, after: &Value) -> Value {
    let fields = |draft: &Value| -> Vec<(String, Value)> {
        draft
            .get("fields")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|f| (f.get("key").and_then(Value::as_str).unwrap_or("?").to_owned(), f.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old, new) = (fields(before), fields(after));
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for (key, field) in &new {
        match old.iter().find(|(k, _)| k == key) {
            None => added.push(key.clone()),
            Some((_, previous)) if previous != field => changed.push(key.clone()),
            Some(_) => {}
        }
    }
    let removed: Vec<String> =
        old.iter().filter(|(k, _)| !new.iter().any(|(n, _)| n == k)).map(|(k, _)| k.clone()).collect();
    json!({"added": added, "removed": removed, "changed": changed})
}
