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
/// A signed document's upload: the file's own limit and room for the form around it.
pub const MAX_DOCUMENT_BODY_BYTES: usize = percorsi_domain::document::MAX_BYTES + 64 * 1024;
/// Requests served at once by default; see `WebConfig::max_in_flight`.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 128;

/// How long clients are told to wait before retrying a 503.
pub(crate) static RETRY_AFTER: HeaderValue = HeaderValue::from_static("2");
/// After a per-user limit (an hour's window): try again later, not in two seconds.
pub(crate) static RETRY_AFTER_LIMIT: HeaderValue = HeaderValue::from_static("600");

/// Whether a request is a historical import, the only one allowed a large body.
pub fn is_upload(path: &str) -> bool {
    path.ends_with("/importazione") || (path.starts_with("/api/v1/programmes/") && path.ends_with("/import"))
}

/// Whether a request uploads a signed document.
pub fn is_document_upload(path: &str) -> bool {
    (path.starts_with("/persone/") && path.ends_with("/documenti"))
        || (path.starts_with("/api/v1/persons/") && path.ends_with("/documents"))
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
    let path = req.uri().path();
    let (limit, key) = if is_upload(path) {
        (MAX_UPLOAD_BYTES, "err-upload-too-large")
    } else if is_document_upload(path) {
        (MAX_DOCUMENT_BODY_BYTES, "err-document-too-large")
    } else {
        (MAX_BODY_BYTES, "err-body-too-large")
    };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
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

/// Refuses text with control characters (NUL, escape, …) in the query, a form or a JSON body
/// with 400 naming the field, before any use case sees it: PostgreSQL rejects NUL in text with
/// an internal error, and no field of Percorsi has a use for them. Tabs and line breaks stay
/// allowed (notes and minutes have paragraphs). Imports check their own cells.
pub async fn control_characters(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(field) = req.uri().query().and_then(|q| bad_form_field(q.as_bytes())) {
        return field_refusal(&state, &req, &field);
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    let (is_form, is_json) = (form.starts_with("application/x-www-form-urlencoded"), form.contains("json"));
    if !(is_form || is_json) || is_upload(req.uri().path()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let req = Request::from_parts(parts, axum::body::Body::empty());
            return refusal(&state, &req, StatusCode::PAYLOAD_TOO_LARGE, "too_large", "err-body-too-large");
        }
    };
    let bad = if is_form { bad_form_field(&bytes) } else { bad_json_field(&bytes) };
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    match bad {
        Some(field) => field_refusal(&state, &req, &field),
        None => next.run(req).await,
    }
}

fn is_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

fn bad_form_field(raw: &[u8]) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw).ok()?;
    pairs.into_iter().find(|(k, v)| k.chars().any(is_control) || v.chars().any(is_control)).map(|(k, _)| k)
}

fn bad_json_field(raw: &[u8]) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &str) -> Option<String> {
        match v {
            serde_json::Value::String(s) if s.chars().any(is_control) => Some(path.to_string()),
            serde_json::Value::Array(items) => items.iter().find_map(|i| walk(i, path)),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                if k.chars().any(is_control) {
                    return Some(path.to_string());
                }
                walk(v, k)
            }),
            _ => None,
        }
    }
    walk(&serde_json::from_slice(raw).ok()?, "")
}

fn field_refusal(state: &AppState, req: &Request, field: &str) -> Response {
    let (api, lang) = caller(req);
    let message = state.ui.t(lang, "err-control-characters");
    let field_label = state.ui.i18n.field_label(lang, field);
    if api {
        let body = serde_json::json!({"error": {"code": "invalid_input", "message": message,
            "fields": [{"field": field, "key": "err-control-characters", "message": format!("{field_label}: {message}")}]}});
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    } else {
        let html = format!(
            "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>Percorsi</title><p role=\"alert\">{}: {}</p></html>",
            lang.code(),
            minijinja::HtmlEscape(&field_label),
            minijinja::HtmlEscape(&message)
        );
        (StatusCode::BAD_REQUEST, axum::response::Html(html)).into_response()
    }
}

/// Whether the request is an API call, and the language to answer in: machine clients get
/// English unless they ask (`Accept-Language`), browsers their language cookie.
/// Axum's own refusals (an unknown address, an id in the path that is not a number, a method a
/// route does not take) come as bare English text or nothing: they are answered like every other
/// error, a page in the user's language or the API's JSON.
pub async fn plain_refusals(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (api, lang) = caller(&req);
    let res = next.run(req).await;
    let status = res.status();
    if !status.is_client_error() {
        return res;
    }
    let bare =
        res.headers().get(header::CONTENT_TYPE).is_none_or(|v| v.to_str().is_ok_and(|t| t.starts_with("text/plain")));
    if !bare {
        return res;
    }
    let (code, key) = match status {
        StatusCode::NOT_FOUND => ("not_found", "err-not-found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "err-method-not-allowed"),
        _ => ("bad_request", "err-bad-request"),
    };
    if api {
        api_error(status, code, &state.ui.t(lang, key))
    } else {
        crate::pages::error_page(&state, lang, status, key)
    }
}

/// The API's error body, for a refusal made before any handler ran.
fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": {"code": code, "message": message, "fields": []}}))).into_response()
}

fn caller(req: &Request) -> (bool, Lang) {
    if req.uri().path().starts_with("/api/") {
        let lang = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept)
            .unwrap_or(Lang::En);
        (true, lang)
    } else {
        (false, crate::session::lang_of(req.headers()))
    }
}

fn refusal(state: &AppState, req: &Request, status: StatusCode, code: &str, key: &str) -> Response {
    let (api, lang) = caller(req);
    let message = state.ui.t(lang, key);
    let mut res = if api {
        api_error(status, code, &message)
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
