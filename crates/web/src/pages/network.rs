//! The person's multidimensional assessment, and the network page for coordinators and
//! analysts: the dashboard (suppressed) and the coordination groups with their meetings.

use super::{base, code_options, fail, form_fields};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::codes::UserClass;
use percorsi_domain::Invalid;
use percorsi_service::policy::{allows, Permission};
use percorsi_service::ServiceError;
use std::collections::BTreeMap;

async fn render_assessment(
    state: &AppState,
    auth: &Auth,
    person: i64,
    values: BTreeMap<String, String>,
    invalid: Option<&Invalid>,
) -> Response {
    let lang = auth.lang;
    let instrument = match state.svc.assessment_instrument().await {
        Ok(i) => i,
        Err(e) => return fail(state, lang, e),
    };
    let (errors, list) = invalid.map(|i| state.ui.errors(lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! {
            person_id => person, instrument => instrument, values => values, errors => errors, error_list => list,
            classes => code_options(state, lang, "user_class", UserClass::ALL), today => percorsi_service::today().to_string(),
            household_kinds => code_options(state, lang, "household_kind", percorsi_domain::household::HouseholdKind::ALL),
        },
        ..base(state, lang, Some(&auth.session), "assessment-title", None),
    };
    state.ui.render(status, "network/assessment.html", ctx)
}

pub async fn assessment_form(State(state): State<AppState>, auth: Auth, Path(person): Path<i64>) -> Response {
    if !allows(auth.actor.role, Permission::ManageProjects) {
        return fail(&state, auth.lang, ServiceError::Forbidden);
    }
    if let Err(e) = state.svc.person_visible_to(&auth.actor, person).await {
        return fail(&state, auth.lang, e);
    }
    render_assessment(&state, &auth, person, BTreeMap::new(), None).await
}

pub async fn assess(
    State(state): State<AppState>,
    auth: Auth,
    Path(person): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw = form_fields(pairs);
    match state.svc.assess_person(&auth.actor, person, &raw).await {
        Ok(_) => Redirect::to(&format!("/persone/{person}?msg=assessment-saved")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_assessment(&state, &auth, person, raw, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_network(state: &AppState, auth: &Auth, msg: Option<&str>, invalid: Option<&Invalid>) -> Response {
    let lang = auth.lang;
    let dashboard = match state.svc.dashboard(&auth.actor).await {
        Ok(d) => d,
        Err(e) => return fail(state, lang, e),
    };
    let groups = if allows(auth.actor.role, Permission::ViewProgrammes) {
        super::section!(state, lang, state.svc.groups(&auth.actor).await)
    } else {
        Vec::new()
    };
    let orgs = super::section!(state, lang, state.svc.organisations().await);
    let grid = crate::report_view::resolve_grid(&state.ui.i18n, lang, &dashboard.grid);
    let axes = crate::report_view::resolve_grid(&state.ui.i18n, lang, &dashboard.axes);
    let objectives = crate::report_view::resolve_grid(&state.ui.i18n, lang, &dashboard.objectives);
    let kept: Vec<_> =
        dashboard.kept.iter().map(|g| crate::report_view::resolve_grid(&state.ui.i18n, lang, g)).collect();
    let classes = crate::report_view::resolve_grid(&state.ui.i18n, lang, &dashboard.classes);
    let (errors, list) = invalid.map(|i| state.ui.errors(lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! {
            grid => grid, axes => axes, objectives => objectives, kept => kept, classes => classes, own => dashboard.own, average_wait => dashboard.own_average_wait, groups => groups, errors => errors, error_list => list,
            organisations => orgs.iter().filter(|o| o.active).map(|o| context! { value => o.id, label => o.name.clone() }).collect::<Vec<_>>(),
            can_manage => allows(auth.actor.role, Permission::ManageProgrammes), today => percorsi_service::today().to_string(),
        },
        ..base(state, lang, Some(&auth.session), "network-title", msg),
    };
    state.ui.render(status, "network/network.html", ctx)
}

pub async fn network(
    State(state): State<AppState>,
    auth: Auth,
    axum::extract::Query(q): axum::extract::Query<super::MsgQuery>,
) -> Response {
    render_network(&state, &auth, q.msg.as_deref(), None).await
}

pub async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw = form_fields(pairs);
    let members: Vec<i64> =
        raw.get("members").map_or(Vec::new(), |m| m.split(',').filter_map(|id| id.parse().ok()).collect());
    let get = |k: &str| raw.get(k).cloned().unwrap_or_default();
    match state.svc.create_group(&auth.actor, &get("name"), &get("territory"), &members).await {
        Ok(_) => Redirect::to("/rete?msg=group-saved").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_network(&state, &auth, None, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn add_meeting(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw = form_fields(pairs);
    let get = |k: &str| raw.get(k).cloned().unwrap_or_default();
    match state.svc.add_meeting(&auth.actor, id, &get("meeting_date"), &get("minutes")).await {
        Ok(_) => Redirect::to("/rete?msg=meeting-saved").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_network(&state, &auth, None, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}
