//! `POST /api/v1/workspaces/{ws}/reports/run`: runs a report spec (DESIGN §7) and answers
//! the groups as columns and rows plus, with a `chart`, the chart-ready data.
//!
//! The spec is checked against the form as the caller sees it: fields the caller may not read
//! are unknown, so they can neither be shown nor filter or weigh a number; rows outside the
//! caller's row scope never reach the query.

use axum::Json;
use axum::extract::State;
use engine::form::{Field, data_fields};
use engine::report::{Plan, field_kinds, parse_spec, plan, shape};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::lang::Language;
use crate::reports::Scope;
use crate::routes::records::RowScope;

fn invalid(mut issues: Vec<engine::form::Issue>, lang: engine::Lang) -> ApiError {
    engine::form::localize(&mut issues, lang);
    ApiError::new("validation_failed", "the report has problems").with_details(json!({"errors": issues}))
}

/// The caller's plan of `spec` and the records it may see.
pub async fn prepare(
    state: &AppState,
    access: &InWorkspace<Read>,
    lang: engine::Lang,
    spec: &Value,
) -> Result<(Plan, String, RowScope), ApiError> {
    let spec = parse_spec(spec).map_err(|issues| invalid(issues, lang))?;
    let form = crate::routes::forms::load(state, access, &state.db, &spec.form, Action::Read).await?;
    let Some(version) = form.latest_version else {
        return Err(ApiError::new("bad_request", "the form has no published version"));
    };
    let compiled = state.forms.get(&state.db, &form.id, version).await?;
    let mask = access.field_mask(&compiled);
    let readable: Vec<&Field> = data_fields(&compiled.definition().fields)
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| mask.can_read(&f.key))
        .collect();
    let kinds = field_kinds(readable);
    let today = crate::clock::today_at(access.workspace.utc_offset_minutes);
    let plan = plan(&spec, &kinds, today).map_err(|issues| invalid(issues, lang))?;
    let scope = crate::routes::records::row_scope(state, access, &form.id);
    if scope == RowScope::PerRecord {
        // Row policies that only Cedar can decide per record cannot be pushed into SQL;
        // answering from a partial set would be wrong, so the report says so.
        return Err(ApiError::new(
            "report_not_available",
            "this workspace's own row policies decide per record; reports need a row scope of all or own records",
        ));
    }
    Ok((plan, form.id, scope))
}

pub async fn run(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    AppJson(spec): AppJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let (plan, form_id, scope) = prepare(&state, &access, lang, &spec).await?;
    if scope == RowScope::Nothing {
        return Ok(Json(shape(&plan, &[])));
    }
    let own = (scope == RowScope::Own).then_some(access.caller.user.id.as_str());
    let scope = Scope {
        workspace_id: &access.workspace.id,
        form_id: &form_id,
        own,
        offset_minutes: access.workspace.utc_offset_minutes,
    };
    let rows = crate::reports::run(&state.db, &plan, &scope).await?;
    Ok(Json(shape(&plan, &rows)))
}
