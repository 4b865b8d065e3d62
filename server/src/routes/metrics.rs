//! `GET /metrics`: Prometheus text. Readable with `Authorization: Bearer <metrics token>`
//! (`--metrics-token`) or by an installation administrator's session; nobody else.

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
    let commits = stats.commits.load(std::sync::atomic::Ordering::Relaxed);
    let jobs = stats.jobs.load(std::sync::atomic::Ordering::Relaxed);
    text.push_str("# HELP formwork_group_commits_total Transactions committed by the group-commit writer.\n");
    text.push_str("# TYPE formwork_group_commits_total counter\n");
    text.push_str(&format!("formwork_group_commits_total {commits}\n"));
    text.push_str("# HELP formwork_group_commit_jobs_total Writes carried by those transactions.\n");
    text.push_str("# TYPE formwork_group_commit_jobs_total counter\n");
    text.push_str(&format!("formwork_group_commit_jobs_total {jobs}\n"));
    let seconds =
        |micros: &std::sync::atomic::AtomicU64| micros.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
    text.push_str("# HELP formwork_group_commit_busy_seconds_total Time the writer spent on its transactions.\n");
    text.push_str("# TYPE formwork_group_commit_busy_seconds_total counter\n");
    text.push_str(&format!("formwork_group_commit_busy_seconds_total {}\n", seconds(&stats.busy_micros)));
    text.push_str("# HELP formwork_group_commit_commit_seconds_total Of that, time spent committing (flushing).\n");
    text.push_str("# TYPE formwork_group_commit_commit_seconds_total counter\n");
    text.push_str(&format!("formwork_group_commit_commit_seconds_total {}\n", seconds(&stats.commit_micros)));
    text.push_str(
        "# HELP formwork_group_commit_wave_wait_seconds_total Time the writer waited for the rest of a wave.\n",
    );
    text.push_str("# TYPE formwork_group_commit_wave_wait_seconds_total counter\n");
    text.push_str(&format!("formwork_group_commit_wave_wait_seconds_total {}\n", seconds(&stats.waited_micros)));
    Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
