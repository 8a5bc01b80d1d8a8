//! Percorsi web: HTML pages (server-rendered, htmx-enhanced), the JSON API under `/api/v1`,
//! and operational endpoints. Thin: parse, authorise via the service, call, render.

pub mod api;
mod guard;
pub mod i18n;
pub mod mail_texts;
mod metrics;
mod ops;
mod pages;
mod report_chart;
pub mod report_view;
mod session;
mod views;

use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use percorsi_service::Service;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use views::Ui;

pub use guard::{is_upload, MAX_BODY_BYTES, MAX_UPLOAD_BYTES};
pub(crate) use guard::{RETRY_AFTER, RETRY_AFTER_LIMIT};

#[derive(Clone)]
pub struct AppState {
    pub svc: Service,
    pub ui: Arc<Ui>,
    pub metrics: Arc<metrics::Metrics>,
    pub in_flight: guard::InFlight,
    /// Bearer token `/metrics` asks for; without one the endpoint is off.
    pub metrics_token: Option<Arc<str>>,
    /// A mail server is configured (the e-mail settings page says when it is not).
    pub mail_enabled: bool,
}

pub struct WebConfig {
    /// Set the `Secure` flag on cookies (behind HTTPS).
    pub secure_cookies: bool,
    /// Requests served at once; past it, 503 with `Retry-After` at once.
    pub max_in_flight: usize,
    /// `/metrics` answers only with `Authorization: Bearer <token>`; `None` turns it off (404).
    pub metrics_token: Option<String>,
    /// E-mails can leave (a mail server is configured).
    pub mail_enabled: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            max_in_flight: guard::DEFAULT_MAX_IN_FLIGHT,
            metrics_token: None,
            mail_enabled: false,
        }
    }
}

pub fn router(svc: Service, config: WebConfig) -> Router {
    // Served over HTTPS (secure cookies): browsers must never come back over plain HTTP.
    let hsts = config.secure_cookies.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    let state = AppState {
        svc,
        ui: Arc::new(Ui::new(config.secure_cookies)),
        metrics: Arc::new(metrics::Metrics::default()),
        in_flight: guard::InFlight::new(config.max_in_flight),
        metrics_token: config.metrics_token.filter(|t| !t.trim().is_empty()).map(|t| Arc::from(t.trim())),
        mail_enabled: config.mail_enabled,
    };
    let request_id = header::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(pages::routes(state.clone()))
        .nest("/api/v1", api::routes(state.clone()))
        .nest("/fhir/r4", api::fhir::routes())
        .nest("/hsds", api::hsds::routes())
        .route("/hsds", axum::routing::get(api::hsds::info))
        .route("/fhir/r4", axum::routing::post(api::fhir::transaction))
        .merge(ops::routes())
        .route("/metrics", axum::routing::get(metrics::render))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::plain_refusals))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state.clone())
        // Our own limits replace axum's 2 MiB default, which would cut imports short.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::control_characters))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::body_limit))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(guard::time_limit))
        .layer(axum::middleware::from_fn_with_state(state, guard::overload))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                 form-action 'self'; base-uri 'none'; object-src 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, move |_: &_| hsts.clone()))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
