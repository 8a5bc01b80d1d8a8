//! API for referrals and notifications.

use super::handlers::{ok, ApiResult, Created};
use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use percorsi_domain::referral::{DecisionForm, ReferralForm};

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

/// Refers a person to another organisation (or records a self-referral).
#[utoipa::path(post, path = "/api/v1/persons/{id}/referrals", params(("id" = i64, Path)), request_body = ReferralForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn refer(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ReferralForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.refer(&who.actor, id, &f)) })
}

/// The organisation's referrals, received and sent, open and most urgent first.
#[utoipa::path(get, path = "/api/v1/referrals", responses((status = 200, body = [percorsi_service::store::ReferralRow])), security(("bearer" = [])))]
pub async fn list(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.referrals(&who.actor)))
}

/// Accepts (`accettata`) or declines (`rifiutata`, with a reason) a referral received.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/decision", params(("id" = i64, Path)), request_body = DecisionForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn decide(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<DecisionForm>,
) -> ApiResult {
    call!(s, who, s.svc.decide_referral(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The organisation's notifications (reading marks them read).
#[utoipa::path(get, path = "/api/v1/notifications", responses((status = 200, body = [percorsi_service::store::NotificationRow])), security(("bearer" = [])))]
pub async fn notifications(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.notifications(&who.actor)))
}
