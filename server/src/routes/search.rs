//! `GET /api/v1/workspaces/{ws}/search?q=..[&form=key][&from=YYYY-MM-DD][&to=..][&limit=20]`:
//! full text over the records the caller may read (`crate::search`), best first, with
//! highlighted snippets; a lot number, code or auto-number also matches exactly. The index
//! catches up with the audit log first, so a committed record is found at once.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use engine::report::{days_from_civil, parse_date};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::{Action, Resource};
use crate::db::entities::form;
use crate::error::ApiError;
use crate::routes::records::{RowScope, row_scope};
use crate::search::{Allowed, SearchQuery, catch_up, find};

fn day_ms(text: &str, offset_minutes: i32) -> Result<i64, ApiError> {
    let date =
        parse_date(text).ok_or_else(|| ApiError::new("bad_request", format!("{text:?} is not a date (YYYY-MM-DD)")))?;
    Ok(days_from_civil(date) * 86_400_000 - i64::from(offset_minutes) * 60_000)
}

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let text = params.get("q").map(String::as_str).unwrap_or_default();
    if text.trim().is_empty() || text.len() > 500 {
        return Err(ApiError::new("bad_request", "q is 1 to 500 characters"));
    }
    let limit: usize = match params.get("limit") {
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| ApiError::new("bad_request", "limit is 1 to 200"))?,
        None => 20,
    };
    let offset = access.workspace.utc_offset_minutes;
    let from_ms = params.get("from").map(|d| day_ms(d, offset)).transpose()?;
    let to_ms = params.get("to").map(|d| day_ms(d, offset).map(|ms| ms + 86_400_000)).transpose()?;
    let forms =
        form::Entity::find().filter(form::Column::WorkspaceId.eq(access.workspace.id.as_str())).all(&state.db).await?;
    let keys: HashMap<String, String> = forms.iter().map(|f| (f.id.clone(), f.key.clone())).collect();
    let mut allowed = HashMap::new();
    let mut per_record = Vec::new();
    for f in &forms {
        if params.get("form").is_some_and(|k| k != &f.key) {
            continue;
        }
        let resource = Resource::Form { id: &f.id, workspace: &access.workspace.id };
        if !access.allows(&state, Action::Read, &resource) {
            continue;
        }
        match row_scope(&state, &access, &f.id) {
            RowScope::All => {
                allowed.insert(f.id.clone(), Allowed::All);
            }
            RowScope::Own => {
                allowed.insert(f.id.clone(), Allowed::Own);
            }
            // Decided per record by the workspace's own policies: checked hit by hit below.
            RowScope::PerRecord => {
                allowed.insert(f.id.clone(), Allowed::All);
                per_record.push(f.id.clone());
            }
            RowScope::Nothing => {}
        }
    }
    catch_up(&state.db, &state.forms, &state.search, &access.workspace.id).await?;
    let index = state.search.workspace(&access.workspace.id)?;
    let query = SearchQuery { text, forms: &allowed, caller: &access.caller.user.id, from_ms, to_ms, limit };
    let hits = tokio::task::block_in_place(|| find(&index, &query))?;
    let mut items = Vec::with_capacity(hits.len());
    for hit in hits {
        if per_record.contains(&hit.form_id) {
            let found = crate::db::entities::record::Entity::find_by_id(hit.record.clone()).one(&state.db).await?;
            let Some(found) = found else { continue };
            if !access.allows(&state, Action::Read, &crate::routes::records::resource(&found)) {
                continue;
            }
        }
        items.push(json!({
            "record": hit.record, "form": keys.get(&hit.form_id), "created_at": hit.created_at,
            "score": hit.score, "snippet": hit.snippet, "keys": hit.keys,
        }));
    }
    Ok(Json(json!({"q": text, "items": items})))
}
