//! Exports of a report's table or of the records behind it, as CSV or XLSX, without holding
//! the rows: records are read in pages by id; CSV goes to the client page by page, XLSX is
//! written by rust_xlsxwriter in constant-memory mode (finished rows go to a temporary file)
//! into an anonymous temporary file that is then streamed.

use std::io::{Read, Seek, SeekFrom};

use axum::body::{Body, Bytes};
use rust_xlsxwriter::Workbook;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::ApiError;

/// Records read per query.
pub const PAGE: u64 = 2_000;
/// Excel's last row (1,048,576) less the header: further rows go to another sheet.
const SHEET_ROWS: u32 = 1_048_575;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(text: Option<&str>) -> Result<Format, ApiError> {
        match text.unwrap_or("csv") {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(ApiError::new("bad_request", format!("unknown export format {other:?}: csv or xlsx"))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// One cell: numbers stay numbers in XLSX.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Cell {
    /// A record value as one cell: lists of plain values joined by "; ", anything else
    /// nested as JSON text.
    pub fn of(value: Option<&Value>) -> Cell {
        match value {
            None | Some(Value::Null) => Cell::Empty,
            Some(Value::String(s)) => Cell::Text(s.clone()),
            Some(Value::Number(n)) => n.as_f64().map_or(Cell::Empty, Cell::Number),
            Some(Value::Bool(b)) => Cell::Bool(*b),
            Some(Value::Array(items)) if items.iter().all(|v| !v.is_object() && !v.is_array()) => Cell::Text(
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Some(other) => Cell::Text(other.to_string()),
        }
    }
}

/// Appends one CSV line. Text that a spreadsheet would run as a formula (starting with =, +,
/// -, @, tab or carriage return) gets a leading apostrophe, as OWASP advises for CSV
/// injection; fields with separators, quotes or line breaks are quoted.
pub fn csv_line(out: &mut String, cells: &[Cell]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Empty => {}
            Cell::Number(n) => out.push_str(&n.to_string()),
            Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Cell::Text(text) => {
                let guarded;
                let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    guarded = format!("'{text}");
                    guarded.as_str()
                } else {
                    text.as_str()
                };
                if text.contains([',', '"', '\n', '\r']) {
                    out.push('"');
                    out.push_str(&text.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(text);
                }
            }
        }
    }
    out.push_str("\r\n");
}

/// Pages of rows, produced by an async task (which owns the database work).
pub type Pages = mpsc::Receiver<Result<Vec<Vec<Cell>>, ApiError>>;

/// A streamed CSV body: a UTF-8 byte-order mark (so that spreadsheet programs read Chinese
/// text correctly), the header, then each page as it arrives. An error after the first byte
/// ends the stream early; it is logged by whoever produced it.
pub fn csv_body(header: Vec<String>, pages: Pages) -> Body {
    let mut first = String::from("\u{feff}");
    csv_line(&mut first, &header.into_iter().map(Cell::Text).collect::<Vec<_>>());
    let head = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(first)) });
    let rest = futures_util::stream::unfold(pages, |mut pages| async move {
        match pages.recv().await {
            Some(Ok(rows)) => {
                let mut text = String::with_capacity(rows.len() * 64);
                for row in &rows {
                    csv_line(&mut text, row);
                }
                Some((Ok(Bytes::from(text)), pages))
            }
            Some(Err(_)) => Some((Err(std::io::Error::other("export interrupted")), pages)),
            None => None,
        }
    });
    Body::from_stream(futures_util::StreamExt::chain(head, rest))
}

fn xlsx_error(error: rust_xlsxwriter::XlsxError) -> ApiError {
    ApiError::internal(format!("xlsx: {error}"))
}

/// Writes the pages into a workbook on a blocking thread (which waits for each page) and
/// returns the finished file, rewound, for streaming.
pub async fn xlsx_file(header: Vec<String>, mut pages: Pages) -> Result<std::fs::File, ApiError> {
    let writer = tokio::task::spawn_blocking(move || -> Result<std::fs::File, ApiError> {
        let mut workbook = Workbook::new();
        let mut sheet = 0usize;
        workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
        let write_header = |workbook: &mut Workbook, sheet: usize| -> Result<(), ApiError> {
            let worksheet = workbook.worksheet_from_index(sheet).map_err(xlsx_error)?;
            for (c, name) in header.iter().enumerate() {
                worksheet.write_string(0, c as u16, name).map_err(xlsx_error)?;
            }
            Ok(())
        };
        write_header(&mut workbook, sheet)?;
        let mut row: u32 = 0;
        while let Some(page) = pages.blocking_recv() {
            for cells in page? {
                if row == SHEET_ROWS {
                    workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
                    sheet += 1;
                    write_header(&mut workbook, sheet)?;
                    row = 0;
                }
                row += 1;
                let worksheet = workbook.worksheet_from_index(sheet).map_err(xlsx_error)?;
                for (c, cell) in cells.into_iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Cell::Empty => {}
                        Cell::Text(text) => {
                            worksheet.write_string(row, c, text).map_err(xlsx_error)?;
                        }
                        Cell::Number(n) => {
                            worksheet.write_number(row, c, n).map_err(xlsx_error)?;
                        }
                        Cell::Bool(b) => {
                            worksheet.write_boolean(row, c, b).map_err(xlsx_error)?;
                        }
                    }
                }
            }
        }
        let temporary = |e: std::io::Error| ApiError::internal(format!("temporary file: {e}"));
        let mut file = tempfile::tempfile().map_err(temporary)?;
        workbook.save_to_writer(&mut file).map_err(xlsx_error)?;
        file.seek(SeekFrom::Start(0)).map_err(temporary)?;
        Ok(file)
    });
    writer.await.map_err(|e| ApiError::internal(format!("xlsx writer: {e}")))?
}

/// Streams a file in 64 KiB chunks, read on a blocking thread.
pub fn file_body(file: std::fs::File) -> Body {
    let (sender, receiver) = mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            let mut buffer = vec![0u8; 64 * 1024];
            match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    buffer.truncate(n);
                    if sender.blocking_send(Ok(Bytes::from(buffer))).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    let _ = sender.blocking_send(Err(error));
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Body::from_stream(stream)
}
