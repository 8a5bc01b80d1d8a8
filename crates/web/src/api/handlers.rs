use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use percorsi_domain::consent::ConsentForm;
use percorsi_domain::episode::{CloseEpisodeForm, EpisodeForm, EpisodeUpdateForm, TeamMemberForm};
use percorsi_domain::organisation::OrganisationForm;
use percorsi_domain::person::{PersonForm, PersonPatch};
use percorsi_domain::user::UserForm;
use percorsi_service::pathway::Registration;
use serde::{Deserialize, Serialize};

pub(super) type ApiResult = Result<Response, ApiError>;

pub(super) fn ok<T: Serialize>(status: StatusCode, v: T) -> ApiResult {
    Ok((status, Json(v)).into_response())
}

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    pub person: PersonForm,
    pub episode: EpisodeForm,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Part of a pseudonymous code, or of a name or fiscal code for roles that see identity.
    pub q: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OrganisationUpdate {
    #[serde(flatten)]
    pub organisation: OrganisationForm,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The caller: user, organisation and role the token acts as.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = percorsi_service::Actor)), security(("bearer" = [])))]
pub async fn me(who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, who.actor)
}

/// Persons visible to the caller's organisation.
#[utoipa::path(get, path = "/api/v1/persons", params(SearchQuery), responses((status = 200, body = [percorsi_service::store::PersonSummary]), (status = 403, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn list_persons(State(s): State<AppState>, who: ApiActor, Query(q): Query<SearchQuery>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.persons(&who.actor, q.q.as_deref())))
}

/// Registers a person and opens the first care episode. `known_elsewhere` means the person is
/// already in the network: take them in charge with the same data.
#[utoipa::path(post, path = "/api/v1/persons", request_body = RegisterRequest,
    responses((status = 201, body = Registration), (status = 200, body = Registration), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn register_person(
    State(s): State<AppState>,
    who: ApiActor,
    ApiJson(r): ApiJson<RegisterRequest>,
) -> ApiResult {
    let reg = call!(s, who, s.svc.register_person(&who.actor, &r.person, &r.episode));
    let status = if matches!(reg, Registration::Created { .. }) { StatusCode::CREATED } else { StatusCode::OK };
    ok(status, reg)
}

/// Takes in charge a person already known elsewhere in the network.
#[utoipa::path(post, path = "/api/v1/persons/take-in-charge", request_body = RegisterRequest,
    responses((status = 201, body = Created), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn take_in_charge(
    State(s): State<AppState>,
    who: ApiActor,
    ApiJson(r): ApiJson<RegisterRequest>,
) -> ApiResult {
    let id = call!(s, who, s.svc.take_in_charge(&who.actor, &r.person, &r.episode));
    ok(StatusCode::CREATED, Created { id })
}

/// A person's pathway (identity only for roles allowed to see it). Audited.
#[utoipa::path(get, path = "/api/v1/persons/{id}", params(("id" = i64, Path)), responses((status = 200, body = percorsi_service::pathway::Pathway), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn pathway(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.pathway(&who.actor, id)))
}

/// Corrects contacts and profile (not the data that define the pseudonymous code).
#[utoipa::path(patch, path = "/api/v1/persons/{id}", params(("id" = i64, Path)), request_body = PersonPatch, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn update_person(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<PersonPatch>,
) -> ApiResult {
    call!(s, who, s.svc.patch_person(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The person's copy of their data (GDPR art. 15 and 20), produced by the organisation in
/// charge: everything the network lets it see, with who accessed the record. Audited.
#[utoipa::path(get, path = "/api/v1/persons/{id}/export", params(("id" = i64, Path)), responses((status = 200, body = percorsi_service::rights::PersonExport), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn export_person(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    let export = call!(s, who, s.svc.person_export(&who.actor, id));
    let file = format!("attachment; filename=\"percorsi-{}.json\"", export.pathway.person.code);
    let mut res = ok(StatusCode::OK, export)?;
    if let Ok(v) = axum::http::HeaderValue::from_str(&file) {
        res.headers_mut().insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Erases the identity on the person's request (GDPR art. 17): identity, contacts and every
/// code derived from them go; the pseudonymous record stays. 409 while another organisation
/// has the person in care.
#[utoipa::path(post, path = "/api/v1/persons/{id}/erasure", params(("id" = i64, Path)), request_body = percorsi_service::rights::ErasureForm, responses((status = 200, body = percorsi_service::rights::Erasure), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn erase_person(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<percorsi_service::rights::ErasureForm>,
) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.erase_identity(&who.actor, id, &f)))
}

/// The restricted people the caller's organisation sees (GDPR art. 18): left out of
/// `GET /api/v1/persons`, listed here.
#[utoipa::path(get, path = "/api/v1/persons/restricted", responses((status = 200, body = [percorsi_service::store::PersonSummary]), (status = 403, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn restricted_persons(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.restricted_persons(&who.actor)))
}

/// Restricts processing on the person's request (GDPR art. 18): the record stays readable and
/// in the reports, every change to it is refused with 409 `err-person-restricted` until the
/// restriction is lifted, and it leaves everyday lists.
#[utoipa::path(post, path = "/api/v1/persons/{id}/restriction", params(("id" = i64, Path)), request_body = percorsi_service::rights::RestrictionForm, responses((status = 204), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn restrict_person(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<percorsi_service::rights::RestrictionForm>,
) -> ApiResult {
    call!(s, who, s.svc.restrict_processing(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Lifts the restriction of processing, with the reason.
#[utoipa::path(post, path = "/api/v1/persons/{id}/restriction/lift", params(("id" = i64, Path)), request_body = percorsi_service::rights::RestrictionForm, responses((status = 204), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn lift_restriction(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<percorsi_service::rights::RestrictionForm>,
) -> ApiResult {
    call!(s, who, s.svc.lift_restriction(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Rectifies the identity (GDPR art. 16): surname, name, birth date, sex, fiscal code and why.
/// The pseudonymous code is derived again; the old one stays the person's alias.
#[utoipa::path(post, path = "/api/v1/persons/{id}/rectification", params(("id" = i64, Path)), request_body = percorsi_domain::person::IdentityCorrectionForm, responses((status = 200, body = percorsi_service::rights::Rectification), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn rectify_person(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<percorsi_domain::person::IdentityCorrectionForm>,
) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.rectify_identity(&who.actor, id, &f)))
}

#[utoipa::path(post, path = "/api/v1/persons/{id}/episodes", params(("id" = i64, Path)), request_body = EpisodeForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn open_episode(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<EpisodeForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.open_episode(&who.actor, id, &f)) })
}

/// Records the current primary substance and whether treatment is in progress.
#[utoipa::path(patch, path = "/api/v1/episodes/{id}", params(("id" = i64, Path)), request_body = EpisodeUpdateForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn update_episode(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<EpisodeUpdateForm>,
) -> ApiResult {
    call!(s, who, s.svc.update_episode(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/episodes/{id}/close", params(("id" = i64, Path)), request_body = CloseEpisodeForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn close_episode(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<CloseEpisodeForm>,
) -> ApiResult {
    call!(s, who, s.svc.close_episode(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Adds a professional (by membership id) to the care team of the caller's open episode.
#[utoipa::path(post, path = "/api/v1/episodes/{id}/team", params(("id" = i64, Path)), request_body = TeamMemberForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn add_team_member(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<TeamMemberForm>,
) -> ApiResult {
    call!(s, who, s.svc.add_team_member(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(delete, path = "/api/v1/episodes/{id}/team/{mid}", params(("id" = i64, Path), ("mid" = i64, Path)), responses((status = 204), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn remove_team_member(
    State(s): State<AppState>,
    who: ApiActor,
    Path((id, mid)): Path<(i64, i64)>,
) -> ApiResult {
    call!(s, who, s.svc.remove_team_member(&who.actor, id, mid));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/persons/{id}/consents", params(("id" = i64, Path)), request_body = ConsentForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn record_consent(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ConsentForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.record_consent(&who.actor, id, &f)) })
}

/// Revokes a consent; it stops covering access immediately.
#[utoipa::path(post, path = "/api/v1/persons/{id}/consents/{cid}/revoke", params(("id" = i64, Path), ("cid" = i64, Path)), responses((status = 204), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_consent(State(s): State<AppState>, who: ApiActor, Path((id, cid)): Path<(i64, i64)>) -> ApiResult {
    call!(s, who, s.svc.revoke_consent(&who.actor, id, cid));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/organisations", responses((status = 200, body = [percorsi_service::store::OrganisationRow])), security(("bearer" = [])))]
pub async fn list_organisations(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.organisations()))
}

#[utoipa::path(post, path = "/api/v1/organisations", request_body = OrganisationForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn create_organisation(
    State(s): State<AppState>,
    who: ApiActor,
    ApiJson(f): ApiJson<OrganisationForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.create_organisation(&who.actor, &f)) })
}

#[utoipa::path(put, path = "/api/v1/organisations/{id}", params(("id" = i64, Path)), request_body = OrganisationUpdate, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn update_organisation(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<OrganisationUpdate>,
) -> ApiResult {
    call!(s, who, s.svc.update_organisation(&who.actor, id, &f.organisation, f.active));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [percorsi_service::admin::UserWithRoles])), security(("bearer" = [])))]
pub async fn list_users(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.users(&who.actor)))
}

#[utoipa::path(post, path = "/api/v1/users", request_body = UserForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn create_user(State(s): State<AppState>, who: ApiActor, ApiJson(f): ApiJson<UserForm>) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.create_user(&who.actor, &f)) })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoleGrant {
    pub organisation_id: String,
    /// Role code, e.g. `case_manager`.
    pub role: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActiveFlag {
    pub active: bool,
}

/// Grants a user a role in an organisation (administrator).
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", params(("id" = i64, Path)), request_body = RoleGrant, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn grant_role(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(g): ApiJson<RoleGrant>,
) -> ApiResult {
    ok(
        StatusCode::CREATED,
        Created { id: call!(s, who, s.svc.grant_role(&who.actor, id, &g.organisation_id, &g.role)) },
    )
}

/// Deactivates (ending their sessions) or reactivates a user (administrator).
#[utoipa::path(put, path = "/api/v1/users/{id}/active", params(("id" = i64, Path)), request_body = ActiveFlag, responses((status = 204), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn set_user_active(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<ActiveFlag>,
) -> ApiResult {
    call!(s, who, s.svc.set_user_active(&who.actor, id, a.active));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInRules {
    /// A second factor for every role of the organisation.
    pub mfa_required: bool,
    /// Whether local passwords may be used (false: single sign-on only).
    pub password_login: bool,
}

/// Sets an organisation's sign-in rules (administrator; asks a recent sign-in of a session).
#[utoipa::path(put, path = "/api/v1/organisations/{id}/sign-in", params(("id" = i64, Path)), request_body = SignInRules, responses((status = 204), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn set_sign_in_rules(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<SignInRules>,
) -> ApiResult {
    call!(s, who, s.svc.set_sign_in_rules(&who.actor, id, r.mfa_required, r.password_login));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SsoLink {
    /// The identity provider's claim value that signs in as this user; blank unlinks.
    pub sso_subject: String,
}

/// Links a user to a single sign-on identity (administrator).
#[utoipa::path(put, path = "/api/v1/users/{id}/sso", params(("id" = i64, Path)), request_body = SsoLink, responses((status = 204), (status = 409, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn link_sso(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(l): ApiJson<SsoLink>,
) -> ApiResult {
    call!(s, who, s.svc.link_sso(&who.actor, id, &l.sso_subject));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Removes a user's second factor (lost authenticator and recovery codes) and ends their
/// sessions (administrator).
#[utoipa::path(post, path = "/api/v1/users/{id}/second-factor/reset", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn reset_second_factor(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    call!(s, who, s.svc.reset_second_factor(&who.actor, id));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Revokes or restores one role of a user (administrator).
#[utoipa::path(put, path = "/api/v1/memberships/{id}/active", params(("id" = i64, Path)), request_body = ActiveFlag, responses((status = 204), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn set_membership_active(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<ActiveFlag>,
) -> ApiResult {
    call!(s, who, s.svc.set_membership_active(&who.actor, id, a.active));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query of the audit trail: the auditor's filters and where the previous page ended.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct AuditPage {
    /// Only entries older than this id (the last id of the previous page).
    pub before: Option<i64>,
}

/// The audit trail, newest first, 100 entries a page, filtered by user, organisation, person
/// and period (auditor role). Reading it is audited.
#[utoipa::path(get, path = "/api/v1/audit", params(percorsi_service::audit::AuditQuery, AuditPage), responses((status = 200, body = [percorsi_service::store::AuditRow])), security(("bearer" = [])))]
pub async fn audit_trail(
    State(s): State<AppState>,
    who: ApiActor,
    Query(q): Query<percorsi_service::audit::AuditQuery>,
    Query(page): Query<AuditPage>,
) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.audit_trail(&who.actor, &q, page.before)))
}

/// Verifies the audit trail's hash chain (auditor role).
#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, body = percorsi_service::audit::VerifyReport)), security(("bearer" = [])))]
pub async fn verify_audit(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    percorsi_service::policy::require(&who.actor, percorsi_service::policy::Permission::ViewAudit)
        .map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    ok(StatusCode::OK, call!(s, who, s.svc.verify_audit()))
}

/// The audit chain's head now (auditor role), for a scheduler that keeps anchors where the
/// database's administrator cannot rewrite them; `percorsi audit verify --anchor` checks them.
#[utoipa::path(get, path = "/api/v1/audit/head", responses((status = 200, body = Option<percorsi_service::audit::Anchor>)), security(("bearer" = [])))]
pub async fn audit_head(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    percorsi_service::policy::require(&who.actor, percorsi_service::policy::Permission::ViewAudit)
        .map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    ok(StatusCode::OK, call!(s, who, s.svc.audit_head()))
}

/// Opens a person's record in an emergency (break-the-glass), for the installation's duration.
#[utoipa::path(post, path = "/api/v1/glass", request_body = percorsi_service::glass::GlassForm, responses((status = 201, body = percorsi_service::glass::GlassOpened), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody), (status = 429, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn break_glass(
    State(s): State<AppState>,
    who: ApiActor,
    ApiJson(f): ApiJson<percorsi_service::glass::GlassForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, call!(s, who, s.svc.break_glass(&who.actor, &f)))
}

/// Every emergency access with its review (auditor role).
#[utoipa::path(get, path = "/api/v1/glass", responses((status = 200, body = [percorsi_service::store::GlassRow])), security(("bearer" = [])))]
pub async fn glass_reviews(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.glass_reviews(&who.actor)))
}

/// Records whether an emergency access was justified (auditor role).
#[utoipa::path(post, path = "/api/v1/glass/{id}/review", params(("id" = i64, Path)), request_body = percorsi_service::glass::GlassReviewForm, responses((status = 204), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn review_glass(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<percorsi_service::glass::GlassReviewForm>,
) -> ApiResult {
    call!(s, who, s.svc.review_glass(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}
