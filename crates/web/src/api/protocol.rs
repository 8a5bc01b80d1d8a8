//! API for the work-insertion protocol: programmes, interventions, forms, the tutor's view.

use super::handlers::{ok, ApiResult, Created};
use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use percorsi_domain::instrument::AssessmentKind;
use percorsi_domain::intervention::{
    AttendanceForm, ConclusionForm, InterventionForm, MonitoringForm, PaymentForm, TransitionForm,
};
use percorsi_domain::programme::{ParticipationForm, ProgrammeForm, RuleForm};
use percorsi_service::ServiceError;
use serde::Deserialize;
use std::collections::BTreeMap;

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/programmes", responses((status = 200, body = [percorsi_service::store::ProgrammeRow])), security(("bearer" = [])))]
pub async fn list_programmes(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.programmes(&who.actor)))
}

/// Every programme's budget summed per funding source (allocated, committed, paid, available).
#[utoipa::path(get, path = "/api/v1/programmes/budget", responses((status = 200, body = crate::report_view::RGrid)), security(("bearer" = [])))]
pub async fn budget_by_source(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    let grid = call!(s, who, s.svc.budget_by_funding_source(&who.actor));
    ok(StatusCode::OK, crate::report_view::resolve_grid(&s.ui.i18n, who.lang, &grid))
}

/// Creates a programme with the protocol's default rules (coordinator).
#[utoipa::path(post, path = "/api/v1/programmes", request_body = ProgrammeForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn create_programme(
    State(s): State<AppState>,
    who: ApiActor,
    ApiJson(f): ApiJson<ProgrammeForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.create_programme(&who.actor, &f)) })
}

/// Planned vs activated vs concluded per organisation and type, rules, and the budget ledger.
#[utoipa::path(get, path = "/api/v1/programmes/{id}", params(("id" = i64, Path)), responses((status = 200, body = percorsi_service::programmes::ProgrammeOverview)), security(("bearer" = [])))]
pub async fn programme(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.programme_overview(&who.actor, id)))
}

/// Adds a new version of a rule (coordinator).
#[utoipa::path(post, path = "/api/v1/programmes/{id}/rules", params(("id" = i64, Path)), request_body = RuleForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn change_rule(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<RuleForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.change_rule(&who.actor, id, &f)) })
}

/// Sets an organisation's budget and planned interventions (coordinator).
#[utoipa::path(put, path = "/api/v1/programmes/{id}/participants", params(("id" = i64, Path)), request_body = ParticipationForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn participation(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ParticipationForm>,
) -> ApiResult {
    call!(s, who, s.svc.set_participation(&who.actor, id, &f));
    no_content()
}

/// Proposes an intervention for a person in care (case manager).
#[utoipa::path(post, path = "/api/v1/persons/{id}/interventions", params(("id" = i64, Path)), request_body = InterventionForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn create_intervention(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<InterventionForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.create_intervention(&who.actor, id, &f)) })
}

/// What is due for the caller's organisation.
#[utoipa::path(get, path = "/api/v1/interventions/due", responses((status = 200, body = [percorsi_service::interventions::DueItem])), security(("bearer" = [])))]
pub async fn due(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.due(&who.actor)))
}

#[utoipa::path(get, path = "/api/v1/interventions/{id}", params(("id" = i64, Path)), responses((status = 200, body = percorsi_service::interventions::InterventionDetail), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn intervention(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.intervention(&who.actor, id)))
}

/// Activates (committing the planned cost), suspends, resumes or prolongs.
#[utoipa::path(post, path = "/api/v1/interventions/{id}/transitions", params(("id" = i64, Path)), request_body = TransitionForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn transition(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<TransitionForm>,
) -> ApiResult {
    call!(s, who, s.svc.transition(&who.actor, id, &f));
    no_content()
}

/// Concludes or interrupts; the unpaid commitment is freed.
#[utoipa::path(post, path = "/api/v1/interventions/{id}/conclusion", params(("id" = i64, Path)), request_body = ConclusionForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn conclude(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ConclusionForm>,
) -> ApiResult {
    call!(s, who, s.svc.conclude(&who.actor, id, &f));
    no_content()
}

#[utoipa::path(post, path = "/api/v1/interventions/{id}/payments", params(("id" = i64, Path)), request_body = PaymentForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn payment(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<PaymentForm>,
) -> ApiResult {
    call!(s, who, s.svc.record_payment(&who.actor, id, &f));
    no_content()
}

#[utoipa::path(put, path = "/api/v1/interventions/{id}/monitoring", params(("id" = i64, Path)), request_body = MonitoringForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn monitoring(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<MonitoringForm>,
) -> ApiResult {
    call!(s, who, s.svc.record_monitoring(&who.actor, id, &f));
    no_content()
}

/// Monthly attendance (case manager, or the intervention's tutor).
#[utoipa::path(put, path = "/api/v1/interventions/{id}/attendance", params(("id" = i64, Path)), request_body = AttendanceForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn attendance(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<AttendanceForm>,
) -> ApiResult {
    call!(s, who, s.svc.record_attendance(&who.actor, id, &f));
    no_content()
}

fn kind(raw: &str, s: &AppState, who: &ApiActor) -> Result<AssessmentKind, ApiError> {
    match AssessmentKind::parse(raw) {
        Some(k @ (AssessmentKind::PreIntervento | AssessmentKind::PostIntervento)) => Ok(k),
        _ => Err(ApiError::from_service(s, who.lang, ServiceError::NotFound)),
    }
}

/// The form (`pre_intervento` or `post_intervento`) with the answers so far and section scores.
#[utoipa::path(get, path = "/api/v1/interventions/{id}/forms/{kind}", params(("id" = i64, Path), ("kind" = String, Path)), responses((status = 200, body = percorsi_service::interventions::FormView)), security(("bearer" = [])))]
pub async fn form(State(s): State<AppState>, who: ApiActor, Path((id, k)): Path<(i64, String)>) -> ApiResult {
    let k = kind(&k, &s, &who)?;
    ok(StatusCode::OK, call!(s, who, s.svc.form(&who.actor, id, k)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct FormAnswers {
    pub assessed_on: String,
    /// Item code → chosen option score (as in the instrument definition); blank clears.
    pub answers: BTreeMap<String, String>,
}

/// Saves answers and returns the section scores (bands, incomplete sections).
#[utoipa::path(put, path = "/api/v1/interventions/{id}/forms/{kind}", params(("id" = i64, Path), ("kind" = String, Path)), request_body = FormAnswers, responses((status = 200, body = [percorsi_domain::instrument::SectionScore]), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn fill_form(
    State(s): State<AppState>,
    who: ApiActor,
    Path((id, k)): Path<(i64, String)>,
    ApiJson(f): ApiJson<FormAnswers>,
) -> ApiResult {
    let k = kind(&k, &s, &who)?;
    ok(StatusCode::OK, call!(s, who, s.svc.fill_form(&who.actor, id, k, &f.assessed_on, &f.answers)))
}

/// The interventions the calling tutor tutors.
#[utoipa::path(get, path = "/api/v1/tutor/interventions", responses((status = 200, body = [percorsi_service::store::TutorInterventionRow])), security(("bearer" = [])))]
pub async fn tutored(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.tutored(&who.actor)))
}

/// Schedule, attendance and A/B/C observations: no health or substance data.
#[utoipa::path(get, path = "/api/v1/tutor/interventions/{id}", params(("id" = i64, Path)), responses((status = 200, body = percorsi_service::interventions::TutorDetail)), security(("bearer" = [])))]
pub async fn tutor_detail(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.tutor_detail(&who.actor, id)))
}
