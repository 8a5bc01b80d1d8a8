//! Personalised project pages: writing a project (and each new version), reading any version,
//! recording reviews, and the document to print and sign.

use super::{base, code_options, fail, form_fields};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::project::{
    plan_values, Axis, ObjectiveOutcome, ProgressForm, ProgressStatus, SupportKind, MAX_OBJECTIVES,
};
use percorsi_domain::Invalid;
use percorsi_service::policy::{allows, Permission};
use percorsi_service::ServiceError;
use serde::Deserialize;
use std::collections::BTreeMap;

async fn render_form(
    state: &AppState,
    auth: &Auth,
    person_id: i64,
    project_id: Option<i64>,
    values: BTreeMap<String, String>,
    invalid: Option<&Invalid>,
) -> Response {
    let lang = auth.lang;
    let orgs = match state.svc.organisations().await {
        Ok(o) => o,
        Err(e) => return fail(state, lang, e),
    };
    let (errors, list) = invalid.map(|i| state.ui.errors(lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! {
            person_id => person_id, project_id => project_id, values => values, errors => errors, error_list => list,
            slots => (0..MAX_OBJECTIVES).collect::<Vec<_>>(),
            axes => code_options(state, lang, "axis", Axis::ALL),
            priorities => code_options(state, lang, "priority", percorsi_domain::project::Priority::ALL),
            supports => code_options(state, lang, "support", SupportKind::ALL),
            organisations => orgs.iter().filter(|o| o.active).map(|o| context! { value => o.id.to_string(), label => o.name.clone() }).collect::<Vec<_>>(),
            own_org => auth.actor.organisation_id.to_string(),
        },
        ..base(state, lang, Some(&auth.session), if project_id.is_some() { "project-revise-title" } else { "project-new-title" }, None),
    };
    state.ui.render(status, "projects/form.html", ctx)
}

pub async fn new_form(State(state): State<AppState>, auth: Auth, Path(person_id): Path<i64>) -> Response {
    if !allows(auth.actor.role, Permission::ManageProjects) {
        return fail(&state, auth.lang, ServiceError::Forbidden);
    }
    if let Err(e) = state.svc.person_visible_to(&auth.actor, person_id).await {
        return fail(&state, auth.lang, e);
    }
    let today = percorsi_service::today();
    let mut values = BTreeMap::new();
    values.insert("start_date".to_string(), today.to_string());
    values.insert("o0_org".to_string(), auth.actor.organisation_id.to_string());
    render_form(&state, &auth, person_id, None, values, None).await
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(person_id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw = form_fields(pairs);
    match state.svc.create_project(&auth.actor, person_id, &raw).await {
        Ok(id) => Redirect::to(&format!("/progetti/{id}?msg=project-saved")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_form(&state, &auth, person_id, None, raw, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn revise_form(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.project(&auth.actor, id, None).await {
        Ok(v) if v.can_manage => {
            render_form(&state, &auth, v.project.person_id, Some(id), plan_values(&v.plan), None).await
        }
        Ok(_) => fail(&state, auth.lang, ServiceError::Forbidden),
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn revise(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw = form_fields(pairs);
    match state.svc.revise_project(&auth.actor, id, &raw).await {
        Ok(_) => Redirect::to(&format!("/progetti/{id}?msg=project-revised")).into_response(),
        Err(ServiceError::Invalid(inv) | ServiceError::Refused(inv)) => {
            let person = match state.svc.project(&auth.actor, id, None).await {
                Ok(v) => v.project.person_id,
                Err(e) => return fail(&state, auth.lang, e),
            };
            render_form(&state, &auth, person, Some(id), raw, Some(&inv)).await
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShowQuery {
    pub versione: Option<i64>,
    pub msg: Option<String>,
}

async fn render_show(
    state: &AppState,
    auth: &Auth,
    id: i64,
    q: &ShowQuery,
    review: Option<(&Invalid, BTreeMap<String, String>)>,
    template: &str,
) -> Response {
    let lang = auth.lang;
    let view = match state.svc.project(&auth.actor, id, q.versione).await {
        Ok(v) => v,
        Err(e) => return fail(state, lang, e),
    };
    let (errors, list) = review.as_ref().map(|(i, _)| state.ui.errors(lang, i)).unwrap_or_default();
    let status = if review.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let budget_total = view.plan.total_budget();
    let ctx = context! {
        ..context! {
            v => view, errors => errors, error_list => list, budget_total => budget_total,
            review_values => review.map(|(_, v)| v).unwrap_or_default(),
            outcomes => code_options(state, lang, "objective_outcome", ObjectiveOutcome::ALL),
            progress_statuses => code_options(state, lang, "progress_status", ProgressStatus::ALL),
            today => percorsi_service::today().to_string(),
        },
        ..base(state, lang, Some(&auth.session), "project-title", q.msg.as_deref()),
    };
    state.ui.render(status, template, ctx)
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Response {
    render_show(&state, &auth, id, &q, None, "projects/show.html").await
}

pub async fn print(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Response {
    render_show(&state, &auth, id, &q, None, "projects/print.html").await
}

pub async fn review(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw = form_fields(pairs);
    match state.svc.review_project(&auth.actor, id, &raw).await {
        Ok(_) => Redirect::to(&format!("/progetti/{id}?msg=project-reviewed")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(
                status,
                render_show(&state, &auth, id, &ShowQuery::default(), Some((&inv, raw)), "projects/show.html").await,
            )
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// Progress on an objective, from its responsible organisation.
pub async fn progress(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, objective)): Path<(i64, usize)>,
    Form(f): Form<ProgressForm>,
) -> Response {
    match state.svc.report_progress(&auth.actor, id, objective, &f).await {
        Ok(_) => Redirect::to(&format!("/progetti/{id}?msg=progress-reported")).into_response(),
        Err(ServiceError::Invalid(inv)) => super::with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_show(&state, &auth, id, &ShowQuery::default(), Some((&inv, BTreeMap::new())), "projects/show.html")
                .await,
        ),
        Err(e) => fail(&state, auth.lang, e),
    }
}
