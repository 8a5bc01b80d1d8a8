//! Percorsi web: HTML pages (server-rendered, htmx-enhanced), the JSON API under `/api/v1`,
//! and operational endpoints. Thin: parse, authorise via the service, call, render.

pub mod api;
pub mod i18n;
mod metrics;
mod ops;
mod pages;
mod report_chart;
pub mod report_view;
mod session;
mod views;

use axum::http::{header, HeaderValue};
use axum::Router;
use percorsi_service::Service;
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use views::Ui;

/// How long clients are told to wait before retrying a 503.
pub(crate) static RETRY_AFTER: HeaderValue = HeaderValue::from_static("2");

/// Largest request body accepted (forms and JSON); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Historical imports through the browser or the API (larger files: `percorsi import`).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Whether a request is a historical import, the only one allowed a large body.
pub fn is_upload(path: &str) -> bool {
    path.ends_with("/importazione") || (path.starts_with("/api/v1/programmes/") && path.ends_with("/import"))
}

/// Answers 408 when a request takes too long: 30 s, or 10 minutes for an import (a large file
/// is checked whole before anything is written; giving up rolls the import back).
async fn time_limit(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = Duration::from_secs(if is_upload(req.uri().path()) { 600 } else { 30 });
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => axum::http::StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// Caps every request body: small for forms and JSON, large for imports.
async fn body_limit(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = if is_upload(req.uri().path()) { MAX_UPLOAD_BYTES } else { MAX_BODY_BYTES };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(axum::extract::Request::from_parts(parts, body)).await
}

#[derive(Clone)]
pub struct AppState {
    pub svc: Service,
    pub ui: Arc<Ui>,
    pub metrics: Arc<metrics::Metrics>,
}

pub struct WebConfig {
    /// Set the `Secure` flag on cookies (behind HTTPS).
    pub secure_cookies: bool,
}

pub fn router(svc: Service, config: WebConfig) -> Router {
    let state =
        AppState { svc, ui: Arc::new(Ui::new(config.secure_cookies)), metrics: Arc::new(metrics::Metrics::default()) };
    let request_id = header::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(pages::routes(state.clone()))
        .nest("/api/v1", api::routes(state.clone()))
        .merge(ops::routes())
        .route("/metrics", axum::routing::get(metrics::render))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
        .layer(axum::middleware::from_fn(body_limit))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(time_limit))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
