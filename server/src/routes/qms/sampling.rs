//! `GET .../qms/sampling-state?supplier=..&part_no=..[&lot_size=..&reduced_allowed=true]`:
//! normal, tightened or reduced inspection for a supplier-part, from the switching rules
//! (`engine::qms::switching`) replayed over its IQC lots, oldest first, and, given a lot size,
//! the plan for the next lot.
//!
//! Each lot counts with the plan it was inspected under (lot size, level, AQL, severity and
//! standard as recorded). The latest 500 lots are replayed: the rules look back at most a few
//! tens of lots (five for tightening, ten or the switching score for reducing).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use engine::qms::aql::{self, Edition, Level, Severity};
use engine::qms::switching::{Lot, Policy, replay};
use serde_json::{Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::error::ApiError;
use crate::lang::Language;
use crate::routes::reports::prepare_value;

const HISTORY: u64 = 500;

fn text<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

fn query_of(data: &Value, severity: Option<Severity>) -> Option<aql::Query> {
    Some(aql::Query {
        lot_size: data.get("lot_size")?.as_u64()?,
        level: Level::parse(text(data, "inspection_level")?).ok()?,
        aql: text(data, "aql")?.to_owned(),
        severity: severity.or_else(|| text(data, "severity").and_then(|s| Severity::parse(s).ok()))?,
        edition: text(data, "standard").and_then(|s| Edition::parse(s).ok()).unwrap_or(Edition::Iso2859),
    })
}

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let supplier = params.get("supplier").ok_or_else(|| ApiError::new("bad_request", "supplier is required"))?;
    let part = params.get("part_no").ok_or_else(|| ApiError::new("bad_request", "part_no is required"))?;
    let reduced_allowed = params.get("reduced_allowed").is_some_and(|v| v == "true");
    let spec = json!({"form": "iqc", "measures": [{"fn": "count", "as": "lots"}],
        "filter": {"and": [{"field": "supplier", "op": "eq", "value": supplier}, {"field": "part_no", "op": "eq", "value": part}]}});
    let prepared = prepare_value(&state, &access, lang, &spec).await?;
    let mut history = Vec::new();
    if let Some(scope) = &prepared.scope {
        // Newest first by id (time-ordered); replayed in the order the lots were received.
        let found = crate::reports::records(&state.db, &prepared.plan, &scope.borrow(), None, HISTORY).await?;
        history = found.into_iter().map(|r| r.data).collect();
    }
    history.sort_by(|a, b| text(a, "received_on").cmp(&text(b, "received_on")));
    let edition = history
        .last()
        .and_then(|d| text(d, "standard"))
        .and_then(|s| Edition::parse(s).ok())
        .unwrap_or(Edition::Iso2859);
    let lots: Vec<Lot> = history
        .iter()
        .filter_map(|data| {
            let query = query_of(data, None)?;
            let plan = aql::plan(&query).ok()?;
            let tighter = aql::tighter_plan(&query).ok().flatten();
            let defects = data.get("defects")?.as_u64()? as u32;
            Some(Lot::from_plan(&plan, tighter.as_ref(), defects))
        })
        .collect();
    let policy = Policy { edition, reduced_allowed };
    let current = replay(policy, &lots);
    let mut next = Value::Null;
    if let Some(size) = params.get("lot_size") {
        let size: u64 = size.parse().map_err(|_| ApiError::new("bad_request", "lot_size is a whole number"))?;
        let mut last = history.last().cloned().unwrap_or_else(|| json!({"inspection_level": "II", "aql": "1.0"}));
        last["lot_size"] = json!(size);
        if let Some(level) = params.get("inspection_level") {
            last["inspection_level"] = json!(level);
        }
        if let Some(aql_value) = params.get("aql") {
            last["aql"] = json!(aql_value);
        }
        let query = query_of(&last, Some(current.severity))
            .ok_or_else(|| ApiError::new("bad_request", "inspection_level and aql are needed for the next plan"))?;
        let plan = aql::plan(&query).map_err(|e| ApiError::new("bad_request", e.message))?;
        next = json!(plan);
    }
    Ok(Json(
        json!({"supplier": supplier, "part_no": part, "lots": lots.len(), "edition": edition, "state": current, "next": next}),
    ))
}
