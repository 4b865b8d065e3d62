//! `POST /api/v1/workspaces/{ws}/reports/records`: the records behind one element of a
//! report (a bar, a slice, a cell, a control-chart point), newest first, a page at a time.
//!
//! Body: `{"report": <spec>, "point": {"<dimension>": "<label>", ...}, "after"?, "limit"?}`.
//! Labels are as the report returned them; `null` selects records without a value and
//! `__others__` a top-N's remainder. The records are the report's filter plus the point, in
//! the caller's row scope, with only the fields the caller may read.

use axum::Json;
use axum::extract::State;
use engine::report::{OTHERS, ReportSpec, drill_conditions, with_conditions};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Prepared, invalid, prepare, prepare_value};
use crate::access::{ActionKind, InWorkspace, Read};
use crate::app::AppState;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::lang::Language;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub report: Value,
    #[serde(default)]
    pub point: Map<String, Value>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub limit: Option<u64>,
}

/// The spec of the records behind `point`: the report's filter and the point's conditions,
/// without grouping (so that a chart's own requirements do not apply).
pub async fn records_spec<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    lang: engine::Lang,
    report: &Prepared,
    point: &Map<String, Value>,
) -> Result<Prepared, ApiError> {
    let wants_others = point.values().any(|v| v.as_str() == Some(OTHERS));
    let mut top = Vec::new();
    if let (true, Some(scope)) = (wants_others, &report.scope)
        && let Some((_, values)) = crate::reports::top_values(&state.db, &report.plan, &scope.borrow()).await?
    {
        top = values;
    }
    let conditions =
        drill_conditions(&report.spec, &report.kinds, point, &top).map_err(|issues| invalid(issues, lang))?;
    let mut spec: ReportSpec = with_conditions(&report.spec, conditions);
    spec.dimensions.clear();
    spec.sort.clear();
    spec.limit = None;
    spec.chart = None;
    prepare(state, access, lang, spec).await
}

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    AppJson(body): AppJson<Body>,
) -> Result<Json<Value>, ApiError> {
    let limit = body.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new("bad_request", "limit must be between 1 and 500"));
    }
    let report = prepare_value(&state, &access, lang, &body.report).await?;
    let records = records_spec(&state, &access, lang, &report, &body.point).await?;
    let Some(scope) = &records.scope else { return Ok(Json(json!({"items": [], "next_after": null}))) };
    let found =
        crate::reports::records(&state.db, &records.plan, &scope.borrow(), body.after.as_deref(), limit).await?;
    let next_after = (found.len() as u64 == limit).then(|| found.last().map(|r| r.id.clone())).flatten();
    let items: Vec<Value> =
        found.iter().map(|r| crate::routes::records::masked_view(r, &records.form_key, &records.mask)).collect();
    Ok(Json(json!({"items": items, "next_after": next_after})))
}
