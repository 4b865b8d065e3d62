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
        let spec = dashboard
            .widget_report(widget, &body.filters)
            .map_err(|issues| crate::routes::reports::invalid(issues, lang))?;
        let result = match prepare(&state, &access, lang, spec).await {
            Ok(prepared) => answer(&state, &prepared).await,
            Err(error) => Err(error),
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
