//! What protects the server from its load: a cap on requests in flight (past it, 503 at once
//! instead of a queue that grows until memory runs out), request body limits and time limits.
//! Refusals are in the caller's language: JSON for the API, a short page for browsers.

use crate::i18n::Lang;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Largest request body accepted (forms and JSON); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Historical imports through the browser or the API, as `docs/import-format.md` promises.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// Requests served at once by default; see `WebConfig::max_in_flight`.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 128;

/// How long clients are told to wait before retrying a 503.
pub(crate) static RETRY_AFTER: HeaderValue = HeaderValue::from_static("2");

/// Whether a request is a historical import, the only one allowed a large body.
pub fn is_upload(path: &str) -> bool {
    path.ends_with("/importazione") || (path.starts_with("/api/v1/programmes/") && path.ends_with("/import"))
}

/// The permits of requests in flight.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> Self {
        InFlight(Arc::new(Semaphore::new(max.max(1))))
    }
}

/// Refuses at once what is past the cap. Health checks are never refused: an operator must
/// be able to tell "overloaded" from "down".
pub async fn overload(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return next.run(req).await;
    }
    match state.in_flight.0.clone().try_acquire_owned() {
        Ok(permit) => {
            let res = next.run(req).await;
            drop(permit);
            res
        }
        Err(_) => {
            state.metrics.overloaded();
            refusal(&state, &req, StatusCode::SERVICE_UNAVAILABLE, "overloaded", "err-overloaded")
        }
    }
}

/// Caps every request body: small for forms and JSON, large for imports.
pub async fn body_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = if is_upload(req.uri().path()) { MAX_UPLOAD_BYTES } else { MAX_BODY_BYTES };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        let key = if limit == MAX_UPLOAD_BYTES { "err-upload-too-large" } else { "err-body-too-large" };
        return refusal(&state, &req, StatusCode::PAYLOAD_TOO_LARGE, "too_large", key);
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// Answers 408 when a request takes too long: 30 s, or 10 minutes for an import (a large file
/// is checked whole before anything is written; giving up rolls the import back).
pub async fn time_limit(req: Request, next: Next) -> Response {
    let limit = Duration::from_secs(if is_upload(req.uri().path()) { 600 } else { 30 });
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

fn refusal(state: &AppState, req: &Request, status: StatusCode, code: &str, key: &str) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let lang = if api {
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept)
            .unwrap_or(Lang::En)
    } else {
        crate::session::lang_of(req.headers())
    };
    let message = state.ui.t(lang, key);
    let mut res = if api {
        (status, axum::Json(serde_json::json!({"error": {"code": code, "message": message, "fields": []}})))
            .into_response()
    } else {
        let html = format!(
            "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>Percorsi</title><p role=\"alert\">{}</p></html>",
            lang.code(),
            minijinja::HtmlEscape(&message)
        );
        (status, axum::response::Html(html)).into_response()
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, RETRY_AFTER.clone());
    }
    res
}
