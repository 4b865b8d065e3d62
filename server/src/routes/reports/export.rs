//! `POST /api/v1/workspaces/{ws}/reports/export`: a report's table, or with `"records":
//! true` (or a `point`) the records behind it, as CSV or XLSX, streamed.
//!
//! Body: `{"report": <spec>, "format": "csv" | "xlsx", "records"?: bool, "point"?: {...}}`.
//! Record exports have the columns id, created_at (UTC), created_by and every top-level field
//! the caller may read, headed by their labels in the caller's language.

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::{Prepared, answer, prepare_value};
use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::lang::Language;
use crate::reports::export::{Cell, Format, PAGE, Pages, csv_body, file_body, xlsx_file};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub report: Value,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub records: bool,
    #[serde(default)]
    pub point: Option<Map<String, Value>>,
}

/// The report's own table as pages (one page: it is small).
fn table_pages(result: &Value) -> (Vec<String>, Pages) {
    let header: Vec<String> = result["columns"]
        .as_array()
        .map(|c| c.iter().map(|c| c["name"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default();
    let rows: Vec<Vec<Cell>> = result["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    row.as_array().map(|cells| cells.iter().map(|v| Cell::of(Some(v))).collect()).unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let (sender, receiver) = mpsc::channel(1);
    // The receiver is read after this returns; the one page fits the channel.
    let _ = sender.try_send(Ok(rows));
    (header, receiver)
}

/// The records as pages, read by a task that owns its database work.
fn record_pages(state: &AppState, records: Prepared) -> (Vec<String>, Pages) {
    let mut header = vec!["id".to_owned(), "created_at".to_owned(), "created_by".to_owned()];
    header.extend(records.columns.iter().map(|(_, label)| label.clone()));
    let (sender, receiver) = mpsc::channel(2);
    let db = state.db.clone();
    tokio::spawn(async move {
        let Some(scope) = records.scope.clone() else { return };
        let mut after: Option<String> = None;
        loop {
            let page = crate::reports::records(&db, &records.plan, &scope.borrow(), after.as_deref(), PAGE).await;
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(?error, "export: reading records failed");
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            let last = page.len() < PAGE as usize;
            after = page.last().map(|r| r.id.clone());
            let rows: Vec<Vec<Cell>> = page
                .iter()
                .map(|r| {
                    let mut cells = vec![
                        Cell::Text(r.id.clone()),
                        Cell::Text(crate::clock::rfc3339_utc(r.created_at)),
                        Cell::Text(r.created_by.clone()),
                    ];
                    cells.extend(records.columns.iter().map(|(key, _)| Cell::of(r.data.get(key))));
                    cells
                })
                .collect();
            if sender.send(Ok(rows)).await.is_err() || last {
                return;
            }
        }
    });
    (header, receiver)
}

pub async fn post(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    AppJson(body): AppJson<Body>,
) -> Result<Response, ApiError> {
    let format = Format::parse(body.format.as_deref())?;
    let report = prepare_value(&state, &access, lang, &body.report).await?;
    let name = format!("{}.{}", report.spec.form, format.extension());
    let (header, pages) = if body.records || body.point.is_some() {
        let point = body.point.unwrap_or_default();
        let records = super::drill::records_spec(&state, &access, lang, &report, &point).await?;
        record_pages(&state, records)
    } else {
        table_pages(&answer(&state, &report).await?)
    };
    let content = match format {
        Format::Csv => csv_body(header, pages),
        Format::Xlsx => file_body(xlsx_file(header, pages).await?),
    };
    let headers = [
        (header::CONTENT_TYPE, format.content_type().to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
    ];
    Ok((headers, HttpBody::new(content)).into_response())
}
