//! API for multidimensional assessments, coordination groups and the network dashboard.

use super::handlers::{ok, ApiResult, Created};
use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::BTreeMap;

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

/// Records a multidimensional assessment: `assessed_on`, `user_class` and each item's score
/// (item code → option score as text), as in the instrument `valutazione_multidimensionale`.
#[utoipa::path(post, path = "/api/v1/persons/{id}/assessments", params(("id" = i64, Path)), request_body = BTreeMap<String, String>, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn assess(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<BTreeMap<String, String>>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.assess_person(&who.actor, id, &f)) })
}

/// A person's assessments, oldest first, with the scores and band of each axis.
#[utoipa::path(get, path = "/api/v1/persons/{id}/assessments", params(("id" = i64, Path)), responses((status = 200, body = [percorsi_service::coordination::AssessmentView])), security(("bearer" = [])))]
pub async fn assessments(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.person_assessments(&who.actor, id)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct GroupForm {
    pub name: String,
    pub territory: String,
    /// Member organisation ids (the creator's organisation is added).
    pub members: Vec<i64>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MeetingForm {
    pub meeting_date: String,
    pub minutes: String,
}

/// Coordination groups; the meetings' minutes only for member organisations (`meetings` is
/// null for the others).
#[utoipa::path(get, path = "/api/v1/groups", responses((status = 200)), security(("bearer" = [])))]
pub async fn groups(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    let list = call!(s, who, s.svc.groups(&who.actor));
    let out: Vec<serde_json::Value> =
        list.into_iter().map(|(g, m)| serde_json::json!({ "group": g, "meetings": m })).collect();
    ok(StatusCode::OK, out)
}

/// A new coordination group (coordinators).
#[utoipa::path(post, path = "/api/v1/groups", request_body = GroupForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn create_group(State(s): State<AppState>, who: ApiActor, ApiJson(f): ApiJson<GroupForm>) -> ApiResult {
    ok(
        StatusCode::CREATED,
        Created { id: call!(s, who, s.svc.create_group(&who.actor, &f.name, &f.territory, &f.members)) },
    )
}

/// A meeting's minutes (coordinators of a member organisation).
#[utoipa::path(post, path = "/api/v1/groups/{id}/meetings", params(("id" = i64, Path)), request_body = MeetingForm, responses((status = 201, body = Created), (status = 403, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn meeting(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<MeetingForm>,
) -> ApiResult {
    ok(
        StatusCode::CREATED,
        Created { id: call!(s, who, s.svc.add_meeting(&who.actor, id, &f.meeting_date, &f.minutes)) },
    )
}

/// The network dashboard: counts per organisation, supports by axis, and the outcomes of the
/// personalised projects (objectives by status, placements kept at 6 and 12 months), all
/// protected like the reports.
#[utoipa::path(get, path = "/api/v1/network/dashboard", responses((status = 200)), security(("bearer" = [])))]
pub async fn dashboard(State(s): State<AppState>, who: ApiActor) -> ApiResult {
    let d = call!(s, who, s.svc.dashboard(&who.actor));
    let grid = crate::report_view::resolve_grid(&s.ui.i18n, who.lang, &d.grid);
    let axes = crate::report_view::resolve_grid(&s.ui.i18n, who.lang, &d.axes);
    let objectives = crate::report_view::resolve_grid(&s.ui.i18n, who.lang, &d.objectives);
    let kept: Vec<_> = d.kept.iter().map(|g| crate::report_view::resolve_grid(&s.ui.i18n, who.lang, g)).collect();
    let classes = crate::report_view::resolve_grid(&s.ui.i18n, who.lang, &d.classes);
    ok(
        StatusCode::OK,
        serde_json::json!({
            "grid": grid, "by_axis": axes, "objectives": objectives, "kept_6_months": kept.first(),
            "kept_12_months": kept.get(1), "by_user_class": classes, "own": d.own, "own_average_wait_days": d.own_average_wait
        }),
    )
}
