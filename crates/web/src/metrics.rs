//! Prometheus metrics: request counts by status class and total latency, plus a few aggregate
//! gauges from the database (never anything about a single person).

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Default)]
pub struct Metrics {
    /// Requests answered with 1xx–5xx, by hundreds.
    by_class: [AtomicU64; 5],
    latency_micros: AtomicU64,
    /// Requests refused at once because too many were in flight.
    overloaded: AtomicU64,
    started: std::sync::OnceLock<Instant>,
}

impl Metrics {
    pub(crate) fn overloaded(&self) {
        self.overloaded.fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, status: u16, micros: u64) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let _ = state.metrics.started.get_or_init(Instant::now);
    let t = Instant::now();
    let res = next.run(req).await;
    state.metrics.record(res.status().as_u16(), t.elapsed().as_micros() as u64);
    res
}

/// Operators' figures (aggregate counts only) for a scraper holding the metrics token.
pub async fn render(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(expected) = state.metrics_token.as_deref() else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // Compared as digests, so the time taken says nothing about how much of the token matched.
    let digest = |t: &str| <sha2::Sha256 as sha2::Digest>::digest(t.as_bytes());
    if given.is_none_or(|g| digest(g) != digest(expected)) {
        return (axum::http::StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
    }
    let m = &state.metrics;
    let mut out = String::new();
    let _ = writeln!(out, "# HELP percorsi_http_requests_total HTTP requests answered, by status class.\n# TYPE percorsi_http_requests_total counter");
    for (i, c) in m.by_class.iter().enumerate() {
        let _ = writeln!(out, "percorsi_http_requests_total{{class=\"{}xx\"}} {}", i + 1, c.load(Ordering::Relaxed));
    }
    let _ = writeln!(out, "# HELP percorsi_http_request_seconds_sum Time spent answering requests.\n# TYPE percorsi_http_request_seconds_sum counter");
    let _ =
        writeln!(out, "percorsi_http_request_seconds_sum {:.6}", m.latency_micros.load(Ordering::Relaxed) as f64 / 1e6);
    let _ = writeln!(out, "# HELP percorsi_http_overloaded_total Requests refused at once (503) because too many were in flight.\n# TYPE percorsi_http_overloaded_total counter");
    let _ = writeln!(out, "percorsi_http_overloaded_total {}", m.overloaded.load(Ordering::Relaxed));
    let uptime = m.started.get().map(|s| s.elapsed().as_secs()).unwrap_or(0);
    let _ = writeln!(out, "# TYPE percorsi_uptime_seconds gauge\npercorsi_uptime_seconds {uptime}");
    match state.svc.totals().await {
        Ok(totals) => {
            let _ = writeln!(out, "# HELP percorsi_records Records stored, by kind (aggregate counts only).\n# TYPE percorsi_records gauge");
            for (kind, n) in totals {
                let _ = writeln!(out, "percorsi_records{{kind=\"{kind}\"}} {n}");
            }
            let _ = writeln!(out, "# TYPE percorsi_database_up gauge\npercorsi_database_up 1");
            if let Ok((pending, failed)) = state.svc.outbox_backlog().await {
                let _ = writeln!(out, "# HELP percorsi_outbox E-mails and webhook calls not yet delivered (pending) or given up (failed).\n# TYPE percorsi_outbox gauge");
                let _ = writeln!(
                    out,
                    "percorsi_outbox{{state=\"pending\"}} {pending}\npercorsi_outbox{{state=\"failed\"}} {failed}"
                );
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database unavailable");
            let _ = writeln!(out, "# TYPE percorsi_database_up gauge\npercorsi_database_up 0");
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
