//! `POST /api/v1/workspaces/{ws}/dashboards/{key}/run`: every widget's result with the
//! shared filter values applied. Body: `{"filters": {"period": {"relative": "this_month"},
//! "supplier": ["sup-01"]}}`. A widget that cannot answer (a form the reader may not read,
//! a report that needs per-record policies) carries its error; the others still answer.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use engine::report::parse_dashboard;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::lang::Language;
use crate::routes::reports::{answer, prepare};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Body {
    #[serde(default)]
    pub filters: Map<String, Value>,
}

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    Path(params): Path<HashMap<String, String>>,
    AppJson(body): AppJson<Body>,
) -> Result<Json<Value>, ApiError> {
    let row = super::load(&state.db, &access.workspace.id, crate::routes::path_param(&params, "key")).await?;
    let dashboard =
        parse_dashboard(&row.definition).map_err(|_| ApiError::internal("a stored dashboard does not parse"))?;
    let mut widgets = Vec::with_capacity(dashboard.widgets.len());
    for widget in &dashboard.widgets {
        let specs = dashboard
            .widget_reports(widget, &body.filters)
            .map_err(|issues| crate::routes::reports::invalid(issues, lang))?;
        let mut results = Vec::with_capacity(specs.len());
        for spec in specs {
            results.push(match prepare(&state, &access, lang, spec).await {
                Ok(prepared) => answer(&state, &prepared).await,
                Err(error) => Err(error),
            });
        }
        let result = if widget.stages.is_empty() {
            results.pop().unwrap_or_else(|| Err(ApiError::internal("a widget without a report")))
        } else {
            funnel(widget, results, lang)
        };
        let mut item = json!({"key": widget.key, "title": widget.title.get(lang), "x": widget.x, "y": widget.y, "w": widget.w, "h": widget.h});
        match result {
            Ok(result) => item["result"] = result,
            Err(error) if error.code == "internal" => return Err(error),
            Err(error) => {
                item["error"] = json!({"code": error.code, "message": error.message, "details": error.details})
            }
        }
        widgets.push(item);
    }
    Ok(Json(
        json!({"key": dashboard.key, "name": dashboard.name.get(lang), "version": row.version, "widgets": widgets}),
    ))
}

/// A funnel across forms: each stage's value is its report's first number; shares against the
/// previous and the first stage, as in a one-report funnel.
fn funnel(
    widget: &engine::report::Widget,
    results: Vec<Result<Value, ApiError>>,
    lang: engine::Lang,
) -> Result<Value, ApiError> {
    let mut rows = Vec::new();
    let mut stages = Vec::new();
    let (mut first, mut previous): (Option<f64>, Option<f64>) = (None, None);
    for (stage, result) in widget.stages.iter().zip(results) {
        let result = result?;
        let value = result["rows"].get(0).and_then(|row| row.get(0)).and_then(Value::as_f64);
        let label = stage.label.get(lang);
        let share = |base: Option<f64>| value.zip(base.filter(|b| *b != 0.0)).map(|(v, b)| v / b);
        stages.push(json!({"label": label, "value": value, "of_previous": share(previous), "of_first": share(first)}));
        rows.push(json!([label, value]));
        first = first.or(value);
        previous = value;
    }
    Ok(json!({
        "columns": [{"name": "stage", "role": "dimension"}, {"name": "value", "role": "measure"}],
        "rows": rows,
        "chart": {"kind": "funnel", "stages": stages},
    }))
}
