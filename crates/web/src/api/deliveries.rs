//! API for what leaves Percorsi: the caller's e-mail settings and the organisation's webhooks
//! with their delivery log.

use super::handlers::{ok, ApiResult};
use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use percorsi_domain::notification::{MailPreferencesForm, WebhookForm};

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

/// The caller's e-mail settings (`null` when e-mail is off).
#[utoipa::path(get, path = "/api/v1/account/mail-preferences", responses((status = 200, body = Option<percorsi_service::store::MailPreferencesRow>)), security(("bearer" = [])))]
pub async fn mail_preferences(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.mail_preferences(&who.actor)))
}

/// Sets the caller's e-mail settings; a blank `address` turns e-mail off. Events:
/// `segnalazione_ricevuta`, `segnalazione_decisa`, `trasferimento_ricevuto`,
/// `trasferimento_deciso`, `accesso_emergenza`, `consenso_revocato`, `riepilogo_giornaliero`.
#[utoipa::path(put, path = "/api/v1/account/mail-preferences", request_body = MailPreferencesForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn set_mail_preferences(
    State(s): State<AppState>,
    who: ApiActor,
    ApiJson(f): ApiJson<MailPreferencesForm>,
) -> ApiResult {
    call!(s, who, s.svc.set_mail_preferences(&who.actor, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The webhooks of the caller's organisation (administrators).
#[utoipa::path(get, path = "/api/v1/webhooks", responses((status = 200, body = [percorsi_service::store::WebhookRow])), security(("bearer" = [])))]
pub async fn webhooks(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.webhooks(&who.actor)))
}

/// Adds a webhook; the answer holds the signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = WebhookForm, responses((status = 201, body = percorsi_service::deliveries::WebhookCreated), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn add_webhook(State(s): State<AppState>, who: ApiActor, ApiJson(f): ApiJson<WebhookForm>) -> ApiResult {
    ok(StatusCode::CREATED, call!(s, who, s.svc.add_webhook(&who.actor, &f)))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    webhook: percorsi_service::store::WebhookRow,
    /// The latest 100 deliveries, newest first.
    deliveries: Vec<percorsi_service::store::DeliveryLogRow>,
}

/// A webhook and its delivery log.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", params(("id" = i64, Path)), responses((status = 200, body = WebhookView)), security(("bearer" = [])))]
pub async fn webhook(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    let (webhook, deliveries) = call!(s, who, s.svc.webhook(&who.actor, id));
    ok(StatusCode::OK, WebhookView { webhook, deliveries })
}

/// Stops a webhook: nothing more is sent to it, and deliveries still waiting are given up.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deactivation", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn deactivate_webhook(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    call!(s, who, s.svc.deactivate_webhook(&who.actor, id));
    Ok(StatusCode::NO_CONTENT.into_response())
}
