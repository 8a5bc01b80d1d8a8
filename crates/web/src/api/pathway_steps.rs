//! API for the pathway's daily steps: operator notes, dated relapses, case transfers.

use super::handlers::{ok, ApiResult, Created};
use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use percorsi_domain::access::AccessForm;
use percorsi_domain::note::NoteForm;
use percorsi_domain::relapse::RelapseForm;
use percorsi_domain::transfer::{TransferDecisionForm, TransferForm};

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct NoteQuery {
    /// Text the notes contain (blank: all).
    pub q: Option<String>,
}

/// The person's notes the caller may read, newest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/notes", params(("id" = i64, Path), NoteQuery), responses((status = 200, body = [percorsi_service::store::NoteRow])), security(("bearer" = [])))]
pub async fn person_notes(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    Query(q): Query<NoteQuery>,
) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.person_notes(&who.actor, id, q.q.as_deref())))
}

/// Writes a note (`visibility`: `equipe`, `ente`, `autore`).
#[utoipa::path(post, path = "/api/v1/persons/{id}/notes", params(("id" = i64, Path)), request_body = NoteForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn add_note(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<NoteForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.add_note(&who.actor, id, &f)) })
}

/// Notes containing `q` across the people the caller sees (the 100 newest).
#[utoipa::path(get, path = "/api/v1/notes", params(NoteQuery), responses((status = 200, body = [percorsi_service::store::NoteRow])), security(("bearer" = [])))]
pub async fn search_notes(State(s): State<AppState>, who: ApiActor, Query(q): Query<NoteQuery>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.search_notes(&who.actor, q.q.as_deref())))
}

/// Records a dated relapse of a running intervention (adds one to its relapse count).
#[utoipa::path(post, path = "/api/v1/interventions/{id}/relapses", params(("id" = i64, Path)), request_body = RelapseForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn relapse(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<RelapseForm>,
) -> ApiResult {
    call!(s, who, s.svc.record_relapse(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Proposes transferring an open care episode to a colleague or another organisation.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/transfers", params(("id" = i64, Path)), request_body = TransferForm, responses((status = 201, body = Created), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn propose(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<TransferForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.propose_transfer(&who.actor, id, &f)) })
}

/// Transfers the caller's organisation sent or received, open ones first.
#[utoipa::path(get, path = "/api/v1/transfers", responses((status = 200, body = [percorsi_service::store::TransferRow])), security(("bearer" = [])))]
pub async fn transfers(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.transfers(&who.actor)))
}

/// Accepts (`accettato`) or declines (`rifiutato`, with a note) a transfer addressed to the
/// caller. One that was decided meanwhile answers 409.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/decision", params(("id" = i64, Path)), request_body = TransferDecisionForm, responses((status = 204), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn decide(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<TransferDecisionForm>,
) -> ApiResult {
    call!(s, who, s.svc.decide_transfer(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Withdraws a transfer the caller's organisation proposed and nobody has decided yet (409
/// when it was decided meanwhile).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/withdrawal", params(("id" = i64, Path)), responses((status = 204), (status = 409, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn withdraw(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    call!(s, who, s.svc.withdraw_transfer(&who.actor, id));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A first contact without taking in charge: the person (registered if new; "già noto" as for
/// registration) and the access with what was offered and where they were oriented.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct AccessRequest {
    pub person: percorsi_domain::person::PersonForm,
    pub access: AccessForm,
}

/// Records an access and orientation for a new or known person (no care episode).
#[utoipa::path(post, path = "/api/v1/accesses", request_body = AccessRequest, responses((status = 201, body = percorsi_service::pathway::Registration), (status = 200, body = percorsi_service::pathway::Registration), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn record_access(State(s): State<AppState>, who: ApiActor, ApiJson(r): ApiJson<AccessRequest>) -> ApiResult {
    let reg = call!(s, who, s.svc.record_access(&who.actor, &r.person, &r.access));
    let status = if matches!(reg, percorsi_service::pathway::Registration::Created { .. }) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    ok(status, reg)
}

/// The accesses the caller's organisation recorded for a person.
#[utoipa::path(get, path = "/api/v1/persons/{id}/accesses", params(("id" = i64, Path)), responses((status = 200, body = [percorsi_service::store::AccessRow])), security(("bearer" = [])))]
pub async fn accesses(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.accesses_of_person(&who.actor, id)))
}

/// Adds an access (a return, a new orientation) to a person the caller's organisation sees.
#[utoipa::path(post, path = "/api/v1/persons/{id}/accesses", params(("id" = i64, Path)), request_body = AccessForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn add_access(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<AccessForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.add_access(&who.actor, id, &f)) })
}
