//! The JSON API under `/api/v1`: the same use cases as the pages, for machine clients with
//! bearer tokens (`Authorization: Bearer pct_…`). Errors are JSON with field-level details.

mod deliveries;
mod documents;
pub mod fhir;
mod handlers;
pub mod hsds;
mod network;
pub mod openapi;
mod opportunities;
mod pathway_steps;
mod projects;
mod protocol;
mod referrals;
mod reports;

use crate::i18n::Lang;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use percorsi_domain::Invalid;
use percorsi_service::{Actor, ServiceError};
use serde::Serialize;

pub fn routes(_state: AppState) -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/me", get(handlers::me))
        .route("/persons", get(handlers::list_persons).post(handlers::register_person))
        .route("/persons/take-in-charge", post(handlers::take_in_charge))
        .route("/persons/{id}", get(handlers::pathway).patch(handlers::update_person))
        .route("/persons/{id}/rectification", post(handlers::rectify_person))
        .route("/persons/{id}/export", get(handlers::export_person))
        .route("/persons/{id}/erasure", post(handlers::erase_person))
        .route("/persons/restricted", get(handlers::restricted_persons))
        .route("/persons/{id}/documents", get(documents::list).post(documents::upload))
        .route("/documents/{id}", get(documents::download))
        .route("/persons/{id}/restriction", post(handlers::restrict_person))
        .route("/persons/{id}/restriction/lift", post(handlers::lift_restriction))
        .route("/persons/{id}/episodes", post(handlers::open_episode))
        .route("/persons/{id}/consents", post(handlers::record_consent))
        .route("/persons/{id}/consents/{cid}/revoke", post(handlers::revoke_consent))
        .route("/episodes/{id}", patch(handlers::update_episode))
        .route("/episodes/{id}/close", post(handlers::close_episode))
        .route("/episodes/{id}/team", post(handlers::add_team_member))
        .route("/episodes/{id}/team/{mid}", delete(handlers::remove_team_member))
        .route("/organisations", get(handlers::list_organisations).post(handlers::create_organisation))
        .route("/organisations/{id}", put(handlers::update_organisation))
        .route("/users", get(handlers::list_users).post(handlers::create_user))
        .route("/users/{id}/roles", post(handlers::grant_role))
        .route("/users/{id}/active", put(handlers::set_user_active))
        .route("/users/{id}/sso", put(handlers::link_sso))
        .route("/users/{id}/second-factor/reset", post(handlers::reset_second_factor))
        .route("/organisations/{id}/sign-in", put(handlers::set_sign_in_rules))
        .route("/memberships/{id}/active", put(handlers::set_membership_active))
        .route("/audit", get(handlers::audit_trail))
        .route("/glass", get(handlers::glass_reviews).post(handlers::break_glass))
        .route("/glass/{id}/review", post(handlers::review_glass))
        .route("/audit/verify", get(handlers::verify_audit))
        .route("/audit/head", get(handlers::audit_head))
        .route("/programmes", get(protocol::list_programmes).post(protocol::create_programme))
        .route("/programmes/budget", get(protocol::budget_by_source))
        .route("/programmes/{id}", get(protocol::programme))
        .route("/programmes/{id}/rules", post(protocol::change_rule))
        .route("/programmes/{id}/participants", put(protocol::participation))
        .route("/persons/{id}/interventions", post(protocol::create_intervention))
        .route("/interventions/due", get(protocol::due))
        .route("/interventions/{id}", get(protocol::intervention))
        .route("/interventions/{id}/transitions", post(protocol::transition))
        .route("/interventions/{id}/conclusion", post(protocol::conclude))
        .route("/interventions/{id}/payments", post(protocol::payment))
        .route("/interventions/{id}/monitoring", put(protocol::monitoring))
        .route("/interventions/{id}/attendance", put(protocol::attendance))
        .route("/interventions/{id}/forms/{kind}", get(protocol::form).put(protocol::fill_form))
        .route("/persons/{id}/projects", get(projects::list).post(projects::create))
        .route("/projects/{id}", get(projects::show).put(projects::revise))
        .route("/projects/{id}/reviews", post(projects::review))
        .route("/projects/{id}/objectives/{n}/progress", post(projects::progress))
        .route("/persons/{id}/referrals", post(referrals::refer))
        .route("/referrals", get(referrals::list))
        .route("/persons/{id}/notes", get(pathway_steps::person_notes).post(pathway_steps::add_note))
        .route("/notes", get(pathway_steps::search_notes))
        .route("/accesses", post(pathway_steps::record_access))
        .route("/persons/{id}/accesses", get(pathway_steps::accesses).post(pathway_steps::add_access))
        .route("/interventions/{id}/relapses", post(pathway_steps::relapse))
        .route("/episodes/{id}/transfers", post(pathway_steps::propose))
        .route("/transfers", get(pathway_steps::transfers))
        .route("/transfers/{id}/decision", post(pathway_steps::decide))
        .route("/transfers/{id}/withdrawal", post(pathway_steps::withdraw))
        .route("/account/mail-preferences", get(deliveries::mail_preferences).put(deliveries::set_mail_preferences))
        .route("/webhooks", get(deliveries::webhooks).post(deliveries::add_webhook))
        .route("/webhooks/{id}", get(deliveries::webhook))
        .route("/webhooks/{id}/deactivation", post(deliveries::deactivate_webhook))
        .route("/referrals/{id}/decision", post(referrals::decide))
        .route("/notifications", get(referrals::notifications))
        .route("/opportunities", get(opportunities::list).post(opportunities::create))
        .route("/opportunities/import", post(opportunities::import))
        .route("/opportunities/{id}/placements", post(opportunities::place))
        .route("/placements/{id}/end", post(opportunities::end))
        .route("/persons/{id}/placements", get(opportunities::of_person))
        .route("/persons/{id}/assessments", get(network::assessments).post(network::assess))
        .route("/groups", get(network::groups).post(network::create_group))
        .route("/groups/{id}/meetings", post(network::meeting))
        .route("/network/dashboard", get(network::dashboard))
        .route("/reports", get(reports::report))
        .route("/reports/extract", get(reports::extract))
        .route("/reports/compare", get(reports::compare))
        .route("/programmes/{id}/import", post(reports::import))
        .route("/tutor/interventions", get(protocol::tutored))
        .route("/tutor/interventions/{id}", get(protocol::tutor_detail))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.".into()) })
}

/// The error body of every failed API call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code: `invalid_input`, `not_found`, `forbidden`, `unauthenticated`, `conflict`, `malformed_body`, …
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    /// Message id, stable across languages (e.g. `err-fiscal-code-checksum`).
    pub key: String,
    pub message: String,
}

pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: String) -> Self {
        ApiError { status, body: ErrorBody { error: ErrorDetail { code: code.into(), message, fields: Vec::new() } } }
    }

    fn fields(state: &AppState, lang: Lang, status: StatusCode, code: &str, key: &str, inv: &Invalid) -> Self {
        let fields: Vec<FieldErrorBody> = state
            .ui
            .i18n
            .field_errors(lang, inv)
            .into_iter()
            .zip(inv.0.iter())
            .map(|(m, e)| FieldErrorBody {
                field: m.field,
                key: e.key.to_string(),
                message: format!("{}: {}", m.label, m.message),
            })
            .collect();
        let mut err = ApiError::new(status, code, state.ui.t(lang, key));
        err.body.error.fields = fields;
        err
    }

    fn from_service(state: &AppState, lang: Lang, e: ServiceError) -> Self {
        let t = |k: &str| state.ui.t(lang, k);
        match e {
            ServiceError::Invalid(inv) => ApiError::fields(
                state,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "err-invalid-input",
                &inv,
            ),
            ServiceError::Refused(inv) => {
                ApiError::fields(state, lang, StatusCode::CONFLICT, "conflict", "err-refused", &inv)
            }
            ServiceError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", t("err-not-found")),
            ServiceError::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "forbidden", t("err-forbidden")),
            ServiceError::Unauthenticated => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", t("err-api-token"))
            }
            ServiceError::Reauthenticate => {
                ApiError::new(StatusCode::FORBIDDEN, "reauthentication_required", t("err-reauthenticate"))
            }
            ServiceError::Throttled(_) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many", t("err-too-many-attempts"))
            }
            ServiceError::Conflict(key) => ApiError::new(StatusCode::CONFLICT, "conflict", t(key)),
            ServiceError::TooMany(key) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many", t(key)),
            ServiceError::Unavailable(kind) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", t(kind.message_key()))
            }
            ServiceError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", t("err-internal"))
            }
            ServiceError::Broken(e) => {
                tracing::error!(error = %e, "inconsistent data");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", t("err-internal"))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, crate::RETRY_AFTER.clone());
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, crate::RETRY_AFTER_LIMIT.clone());
        }
        res
    }
}

fn api_lang(parts: &Parts) -> Lang {
    // Machine clients get English unless they ask for Italian.
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept)
        .unwrap_or(Lang::En)
}

/// A caller authenticated by bearer token.
pub struct ApiActor {
    pub actor: Actor,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = api_lang(parts);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(bearer) = bearer else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", state.ui.t(lang, "err-api-token")));
        };
        match state.svc.api_actor(bearer).await {
            Ok(Some(actor)) => Ok(ApiActor { actor, lang }),
            Ok(None) => {
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", state.ui.t(lang, "err-api-token")))
            }
            Err(e) => Err(ApiError::from_service(state, lang, e)),
        }
    }
}

/// JSON body whose rejections (malformed, wrong type, too large) are JSON errors too.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let status = rej.status();
                let code = match &rej {
                    JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
                    _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
                    _ => "malformed_body",
                };
                Err(ApiError::new(status, code, rej.body_text()))
            }
        }
    }
}
