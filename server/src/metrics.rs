//! Prometheus metrics: request counts by status class and method-independent latency, plus
//! a few domain counters. Counters are plain atomics held by the app state (no globals).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;

#[derive(Debug, Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    duration_micros: AtomicU64,
    pub records_created: AtomicU64,
    pub logins_failed: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, status: u16, started: Instant) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.duration_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP formwork_http_requests_total HTTP requests answered, by status class.");
        let _ = writeln!(out, "# TYPE formwork_http_requests_total counter");
        let mut total = 0;
        for (i, counter) in self.by_class.iter().enumerate() {
            let value = counter.load(Ordering::Relaxed);
            total += value;
            let _ = writeln!(out, "formwork_http_requests_total{{class=\"{}xx\"}} {value}", i + 1);
        }
        let _ = writeln!(out, "# HELP formwork_http_request_duration_seconds_sum Time spent answering requests.");
        let _ = writeln!(out, "# TYPE formwork_http_request_duration_seconds_sum counter");
        let seconds = self.duration_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "formwork_http_request_duration_seconds_sum {seconds}");
        let _ = writeln!(out, "formwork_http_request_duration_seconds_count {total}");
        let _ = writeln!(out, "# HELP formwork_records_created_total Records submitted.");
        let _ = writeln!(out, "# TYPE formwork_records_created_total counter");
        let _ = writeln!(out, "formwork_records_created_total {}", self.records_created.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP formwork_logins_failed_total Failed login attempts.");
        let _ = writeln!(out, "# TYPE formwork_logins_failed_total counter");
        let _ = writeln!(out, "formwork_logins_failed_total {}", self.logins_failed.load(Ordering::Relaxed));
        out
    }
}

/// Counts every answered request.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(response.status().as_u16(), started);
    response
}
