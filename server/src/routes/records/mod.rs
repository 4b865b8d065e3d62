//! Records: `/api/v1/workspaces/{ws}/forms/{form}/records` and `/api/v1/workspaces/{ws}/records/{id}`.

pub mod create;
pub mod delete;
pub mod get;
pub mod history;
pub mod list;
pub mod patch;
mod query;
pub mod unique;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};

use crate::access::{ActionKind, InWorkspace};
use crate::app::AppState;
use crate::authz::{Action, Resource};
use crate::db::entities::{form, record};
use crate::error::ApiError;
use engine::form::FieldMask;

pub fn resource<'a>(record: &'a record::Model) -> Resource<'a> {
    Resource::Record {
        id: &record.id,
        form: &record.form_id,
        workspace: &record.workspace_id,
        created_by: &record.created_by,
    }
}

/// Which records of a form the caller may read, as far as SQL can say.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowScope {
    All,
    Own,
    Nothing,
    /// Decided record by record (the workspace has policies of its own).
    PerRecord,
}

/// The caller's row scope for reading records of `form_id`. The shipped policies decide on
/// records by their creator only, so two probes (one's own record, someone else's) decide
/// for every record; a workspace's own policies may look at anything, so then every record
/// is checked.
pub fn row_scope<A: ActionKind>(state: &AppState, access: &InWorkspace<A>, form_id: &str) -> RowScope {
    if access.has_own_policies() {
        return RowScope::PerRecord;
    }
    let probe = |created_by: &str| {
        let resource = Resource::Record { id: "", form: form_id, workspace: &access.workspace.id, created_by };
        access.allows(state, Action::Read, &resource)
    };
    match (probe(&access.caller.user.id), probe("")) {
        (true, true) => RowScope::All,
        (true, false) => RowScope::Own,
        (false, false) => RowScope::Nothing,
        (false, true) => RowScope::PerRecord,
    }
}

/// Loads a live record of the path's workspace and checks `action` on it. A record the
/// caller may not read is "not found", whoever owns it.
pub async fn load<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    db: &impl ConnectionTrait,
    id: &str,
    action: Action,
    deleted: bool,
) -> Result<record::Model, ApiError> {
    let found = record::Entity::find_by_id(id.to_owned())
        .filter(record::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .one(db)
        .await?
        .filter(|r| r.deleted_at.is_some() == deleted)
        .ok_or_else(ApiError::not_found)?;
    if !access.allows(state, Action::Read, &resource(&found)) {
        return Err(ApiError::not_found());
    }
    if !access.allows(state, action, &resource(&found)) {
        return Err(ApiError::new("forbidden", "your roles do not allow this on this record"));
    }
    Ok(found)
}

/// The record's form and the caller's field mask on it. Access rules are policy, not data
/// shape: the latest published version's rules apply to records of every version.
pub async fn form_and_mask<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    form_id: &str,
) -> Result<(form::Model, FieldMask), ApiError> {
    let found = form::Entity::find_by_id(form_id.to_owned())
        .filter(form::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mask = mask_of(state, access, &found).await?;
    Ok((found, mask))
}

/// The caller's field mask on `form` (open when the form has no published version).
pub async fn mask_of<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    form: &form::Model,
) -> Result<FieldMask, ApiError> {
    match form.latest_version {
        Some(version) => Ok(access.field_mask(&*state.forms.get(&state.db, &form.id, version).await?)),
        None => Ok(FieldMask::default()),
    }
}

/// The record as the API shows it, without the fields `mask` hides.
pub fn masked_view(record: &record::Model, form_key: &str, mask: &FieldMask) -> Value {
    let mut shown = view(record, form_key);
    mask.redact(&mut shown["data"]);
    shown
}

/// The 422 answer for issues found by the server's own checks.
pub fn rejected(mut issues: Vec<engine::form::Issue>, lang: engine::Lang) -> ApiError {
    engine::form::localize(&mut issues, lang);
    ApiError::new("validation_failed", "the record has problems").with_details(json!({"errors": issues}))
}

fn view(record: &record::Model, form_key: &str) -> Value {
    json!({
        "id": record.id,
        "form": form_key,
        "form_version": record.form_version,
        "version": record.version,
        "data": record.data,
        "created_by": record.created_by,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "deleted_at": record.deleted_at,
    })
}

/// Field-level changes between two versions of a record's data.
pub fn diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut changes = Map::new();
    for (key, new) in after {
        if before.get(key) != Some(new) {
            changes.insert(key.clone(), json!({"before": before.get(key), "after": new}));
        }
    }
    for (key, old) in before {
        if !after.contains_key(key) {
            changes.insert(key.clone(), json!({"before": old, "after": null}));
        }
    }
    Value::Object(changes)
}

/// Draws the next number of every auto-number field of `compiled` (a counter per form, field
/// and pattern scope, so monthly patterns restart monthly), in the caller's transaction; the
/// caller flushes `counters` before it commits.
pub async fn draw_numbers(
    db: &impl ConnectionTrait,
    counters: &mut crate::db::counters::Counters,
    workspace_id: &str,
    form_id: &str,
    compiled: &engine::form::CompiledForm,
    today: engine::form::Date,
) -> Result<std::collections::BTreeMap<String, u64>, DbErr> {
    let mut sequences = std::collections::BTreeMap::new();
    for (field, pattern) in compiled.auto_numbers() {
        let counter = format!("{form_id}:{field}:{}", pattern.scope(today));
        sequences.insert(field.to_owned(), counters.next(db, workspace_id, &counter).await?);
    }
    Ok(sequences)
}
