//! `POST .../qms/scorecards {"month": "2026-10"}`: the supplier evaluation pack's monthly
//! scorecards computed from the month's data, one per supplier with IQC lots that month, each
//! submitted like any record (so its approval workflow starts). Lots inspected and accepted and
//! parts received come from IQC, defective parts from NCRs raised that month, the 8D response
//! time from 8D reports closed that month; on-time delivery is left for the QE's review (or the
//! ERP). A supplier that already has the month's scorecard is skipped, so running it twice
//! creates nothing new.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use engine::report::parse_date;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Create, InWorkspace};
use crate::app::AppState;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::lang::Language;
use crate::routes::reports::{answer, prepare_value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    month: String,
}

/// `supplier -> measures` of a report with the supplier as its one dimension; a form that is
/// not installed (or not readable) contributes nothing.
async fn by_supplier(
    state: &AppState,
    access: &InWorkspace<Create>,
    lang: engine::Lang,
    spec: Value,
) -> Result<BTreeMap<String, Vec<Option<f64>>>, ApiError> {
    let prepared = match prepare_value(state, access, lang, &spec).await {
        Ok(prepared) => prepared,
        Err(error) if error.code == "not_found" => return Ok(BTreeMap::new()),
        Err(error) => return Err(error),
    };
    let result = answer(state, &prepared).await?;
    let mut out = BTreeMap::new();
    for row in result["rows"].as_array().into_iter().flatten() {
        let Some(cells) = row.as_array() else { continue };
        let Some(supplier) = cells.first().and_then(Value::as_str) else { continue };
        out.insert(supplier.to_owned(), cells[1..].iter().map(Value::as_f64).collect());
    }
    Ok(out)
}

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Create>,
    Language(lang): Language,
    AppJson(body): AppJson<Body>,
) -> Result<Json<Value>, ApiError> {
    let month = body.month;
    let first = parse_date(&format!("{month}-01"))
        .filter(|_| month.len() == 7)
        .ok_or_else(|| ApiError::new("bad_request", "month is YYYY-MM"))?;
    let (from, to) = engine::report::bucket_range(engine::report::Bucket::Month, &month).unwrap_or((first, first));
    let range = json!([engine::report::format_date(from), engine::report::format_date(to)]);
    let iqc = by_supplier(&state, &access, lang, json!({"form": "iqc",
        "filter": {"field": "received_on", "op": "between", "value": range},
        "dimensions": [{"field": "supplier"}],
        "measures": [{"fn": "count", "as": "lots"}, {"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass"},
                     {"fn": "sum", "field": "lot_size", "as": "parts"}]})).await?;
    let ncr = by_supplier(
        &state,
        &access,
        lang,
        json!({"form": "ncr",
        "filter": {"field": "created_at", "op": "between", "value": range},
        "dimensions": [{"field": "supplier"}], "measures": [{"fn": "sum", "field": "quantity", "as": "defective"}]}),
    )
    .await?;
    let eightd = by_supplier(&state, &access, lang, json!({"form": "eightd",
        "filter": {"and": [{"field": "created_at", "op": "between", "value": range}, {"field": "status", "op": "eq", "value": "closed"}]},
        "dimensions": [{"field": "supplier"}], "measures": [{"fn": "avg", "field": "days_to_close", "as": "days"}]})).await?;
    let existing = by_supplier(
        &state,
        &access,
        lang,
        json!({"form": "scorecard",
        "filter": {"field": "month", "op": "eq", "value": month},
        "dimensions": [{"field": "supplier"}], "measures": [{"fn": "count", "as": "n"}]}),
    )
    .await?;
    let mut created = Vec::new();
    let mut skipped = Vec::new();
    for (supplier, iqc) in &iqc {
        if existing.contains_key(supplier) {
            skipped.push(supplier.clone());
            continue;
        }
        let lots = iqc.first().copied().flatten().unwrap_or(0.0);
        let pass = iqc.get(1).copied().flatten().unwrap_or(0.0);
        let mut record = json!({
            "supplier": supplier, "month": month,
            "lots_inspected": lots.round() as i64,
            "lots_accepted": (lots * pass).round() as i64,
            "parts_received": iqc.get(2).copied().flatten().unwrap_or(0.0).round() as i64,
            "parts_defective": ncr.get(supplier).and_then(|m| m.first().copied().flatten()).unwrap_or(0.0).round() as i64,
        });
        if let Some(days) = eightd.get(supplier).and_then(|m| m.first().copied().flatten()) {
            record["response_days"] = json!((days * 10.0).round() / 10.0);
        }
        let (row, _, _) = crate::routes::records::create::submit(&state, &access, "scorecard", record, lang).await?;
        created.push(
            json!({"supplier": supplier, "record": row.id, "score": row.data["score"], "grade": row.data["grade"]}),
        );
    }
    Ok(Json(json!({"month": month, "created": created, "skipped": skipped})))
}
