//! `GET /metrics`: Prometheus text. Readable with `Authorization: Bearer <metrics token>`
//! (`--metrics-token`) or by an installation administrator's session; nobody else.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    let bearer = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let by_token = matches!((&state.config.metrics_token, bearer), (Some(expected), Some(given)) if expected == given);
    let by_admin = caller.as_ref().is_ok_and(|c| c.user.is_admin && c.token_workspace().is_none());
    if !by_token && !by_admin {
        return Err(match caller {
            Err(error) if bearer.is_none() => error,
            _ => ApiError::new("forbidden", "metrics are for installation administrators or the metrics token"),
        });
    }
    let mut text = state.metrics.render();
    let stats = &state.writes.stats;
    let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed).to_string();
    let seconds = |micros: &AtomicU64| (micros.load(Ordering::Relaxed) as f64 / 1e6).to_string();
    for (name, help, value) in [
        ("formwork_group_commits_total", "Transactions committed by the group-commit writer.", count(&stats.commits)),
        ("formwork_group_commit_jobs_total", "Writes carried by those transactions.", count(&stats.jobs)),
        (
            "formwork_group_commit_busy_seconds_total",
            "Time the writer spent on its transactions.",
            seconds(&stats.busy_micros),
        ),
        (
            "formwork_group_commit_commit_seconds_total",
            "Of that, time spent committing (flushing).",
            seconds(&stats.commit_micros),
        ),
        (
            "formwork_group_commit_wave_wait_seconds_total",
            "Time the writer waited for the rest of a wave.",
            seconds(&stats.waited_micros),
        ),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"));
    }
    for (name, help, value) in [
        (
            "formwork_sqlite_wal_frames",
            "SQLite: frames in the write-ahead log at the last checkpoint.",
            &stats.wal_frames,
        ),
        (
            "formwork_sqlite_wal_checkpointed_frames",
            "SQLite: of those, frames copied into the database file.",
            &stats.wal_checkpointed_frames,
        ),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}\n", count(value)));
    }
    Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
