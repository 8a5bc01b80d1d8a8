//! Operational endpoints and static assets.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/static/htmx.min.js", get(|| async { asset("text/javascript", include_str!("../static/htmx.min.js")) }))
        .route("/static/app.css", get(|| async { asset("text/css", include_str!("../static/app.css")) }))
        .route("/static/app.js", get(|| async { asset("text/javascript", include_str!("../static/app.js")) }))
}

fn asset(mime: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=3600")], body)
}

/// Ready when the database can take a write now, answered within two seconds either way.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let check = tokio::time::timeout(std::time::Duration::from_secs(2), state.svc.store().ready()).await;
    match check {
        Ok(Ok(())) => (StatusCode::OK, "ready".to_string()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("database unavailable: {e}"))
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable: no answer within 2 s".to_string()),
    }
}
