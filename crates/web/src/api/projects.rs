//! API for personalised projects: create, read any version, change (a new version), review.

use super::handlers::{ok, ApiResult, Created};
use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::BTreeMap;

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

/// The project form's fields as a flat JSON object of strings (see the project page: `start_date`,
/// `end_date`, `next_review`, `budget_<axis>`, `o0_axis`, `o0_title`, `o0_results`,
/// `o0_supports` (codes separated by commas), `o0_person`, `o0_services`, `o0_org`,
/// `o0_operator`, `o0_due`, … up to `o5_…`; `reason` when changing a project).
pub type ProjectFields = BTreeMap<String, String>;

/// The projects of a person the caller sees.
#[utoipa::path(get, path = "/api/v1/persons/{id}/projects", params(("id" = i64, Path)), responses((status = 200, body = [percorsi_service::store::ProjectRow])), security(("bearer" = [])))]
pub async fn list(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.projects_of_person(&who.actor, id)))
}

/// A new personalised project (case manager of an organisation following the person).
#[utoipa::path(post, path = "/api/v1/persons/{id}/projects", params(("id" = i64, Path)), request_body = BTreeMap<String, String>, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ProjectFields>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.create_project(&who.actor, id, &f)) })
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct VersionQuery {
    /// A version number; the one in force when absent.
    pub version: Option<i64>,
}

/// A project at a version, with its versions and reviews.
#[utoipa::path(get, path = "/api/v1/projects/{id}", params(("id" = i64, Path), VersionQuery), responses((status = 200, body = percorsi_service::projects::ProjectView)), security(("bearer" = [])))]
pub async fn show(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.project(&who.actor, id, q.version)))
}

/// Changes a project: the content becomes a new version (a `reason` is required).
#[utoipa::path(put, path = "/api/v1/projects/{id}", params(("id" = i64, Path)), request_body = BTreeMap<String, String>, responses((status = 200, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn revise(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ProjectFields>,
) -> ApiResult {
    ok(StatusCode::OK, Created { id: call!(s, who, s.svc.revise_project(&who.actor, id, &f)) })
}

/// Records a review: `review_date`, `participants`, `next_review`, `note`, `o{i}_outcome`.
#[utoipa::path(post, path = "/api/v1/projects/{id}/reviews", params(("id" = i64, Path)), request_body = BTreeMap<String, String>, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn review(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ProjectFields>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.review_project(&who.actor, id, &f)) })
}

/// Progress on objective `n` (1-based) of a project, reported by the organisation responsible
/// for it (case manager or operatore); the owner's reviews stay the owner's.
#[utoipa::path(post, path = "/api/v1/projects/{id}/objectives/{n}/progress", params(("id" = i64, Path), ("n" = usize, Path)), request_body = percorsi_domain::project::ProgressForm, responses((status = 201, body = Created), (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn progress(
    State(s): State<AppState>,
    who: ApiActor,
    Path((id, n)): Path<(i64, usize)>,
    ApiJson(f): ApiJson<percorsi_domain::project::ProgressForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.report_progress(&who.actor, id, n, &f)) })
}
