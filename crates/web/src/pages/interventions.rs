//! Intervention pages: planning, the intervention page with its timeline, lifecycle, money,
//! monitoring, conclusion, the pre/post forms, the due list, and the tutor's pages.

use super::{after_form, base, code_options, fail, failure_vars, values, FormFailure, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::{context, Value};
use percorsi_domain::instrument::AssessmentKind;
use percorsi_domain::intervention::*;
use percorsi_domain::programme::InterventionType;
use percorsi_domain::Invalid;
use percorsi_service::policy::{allows, Permission};
use percorsi_service::{today, ServiceError};
use serde::Serialize;
use std::collections::BTreeMap;

fn iso(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

async fn render_new(
    state: &AppState,
    auth: &Auth,
    person_id: i64,
    form: &InterventionForm,
    invalid: Option<&Invalid>,
) -> Response {
    let lang = auth.lang;
    let choices = match state.svc.planning_choices(&auth.actor).await {
        Ok(c) => c,
        Err(e) => return fail(state, lang, e),
    };
    let pathway = match state.svc.pathway(&auth.actor, person_id).await {
        Ok(p) => p,
        Err(e) => return fail(state, lang, e),
    };
    let (errors, list) = invalid.map(|i| state.ui.errors(lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! {
            p => pathway, choices => choices, values => values(form), errors => errors, error_list => list,
            types => code_options(state, lang, "intervention_type", InterventionType::ALL),
        },
        ..base(state, lang, Some(&auth.session), "intervention-new-title", None),
    };
    state.ui.render(status, "interventions/new.html", ctx)
}

pub async fn new_form(State(state): State<AppState>, auth: Auth, Path(person_id): Path<i64>) -> Response {
    let start = today();
    let form = InterventionForm {
        planned_start: iso(start),
        weekly_days: "5".into(),
        weekly_hours: "20".into(),
        monthly_amount: "300".into(),
        ..Default::default()
    };
    render_new(&state, &auth, person_id, &form, None).await
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(person_id): Path<i64>,
    Form(f): Form<InterventionForm>,
) -> Response {
    match state.svc.create_intervention(&auth.actor, person_id, &f).await {
        Ok(id) => Redirect::to(&format!("/interventi/{id}?msg=intervention-proposed")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_new(&state, &auth, person_id, &f, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_show(
    state: &AppState,
    auth: &Auth,
    id: i64,
    msg: Option<&str>,
    failure: Option<FormFailure<'_>>,
) -> Response {
    let lang = auth.lang;
    let detail = match state.svc.intervention(&auth.actor, id).await {
        Ok(d) => d,
        Err(e) => return fail(state, lang, e),
    };
    let (status, failure_vars) = failure_vars(state, lang, failure);
    let ctx = context! {
        ..context! {
            d => detail, today => iso(today()), this_month => today().format("%Y-%m").to_string(),
            positive_kinds => code_options(state, lang, "positive_outcome", PositiveOutcome::ALL),
            reasons => code_options(state, lang, "interruption_reason", InterruptionReason::ALL),
            contracts => code_options(state, lang, "contract_kind", ContractKind::ALL),
            evaluations => code_options(state, lang, "evaluation", OverallEvaluation::ALL),
            substances => code_options(state, lang, "substance", percorsi_domain::codes::Substance::ALL),
        },
        ..base(state, lang, Some(&auth.session), "intervention-title", msg),
        ..failure_vars,
    };
    state.ui.render(status, "interventions/show.html", ctx)
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> Response {
    if allows(auth.actor.role, Permission::TutorInterventions) {
        return tutor_show(state, auth, id, q.msg.as_deref()).await;
    }
    render_show(&state, &auth, id, q.msg.as_deref(), None).await
}

/// After a form of the intervention page: back to it with a message, or the page again with errors.
async fn after<T: Serialize>(
    state: &AppState,
    auth: &Auth,
    id: i64,
    outcome: Result<(), ServiceError>,
    form: &'static str,
    input: &T,
    msg: &str,
) -> Response {
    let done = format!("/interventi/{id}?msg={msg}");
    after_form(state, auth.lang, outcome, done, form, input, async |failure| {
        render_show(state, auth, id, None, Some(failure)).await
    })
    .await
}

pub async fn transition(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<TransitionForm>,
) -> Response {
    let outcome = state.svc.transition(&auth.actor, id, &f).await.map(|_| ());
    let msg = format!("transition-{}", f.transition.trim());
    after(&state, &auth, id, outcome, "transition", &f, &msg).await
}

pub async fn conclude(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ConclusionForm>,
) -> Response {
    let outcome = state.svc.conclude(&auth.actor, id, &f).await.map(|_| ());
    after(&state, &auth, id, outcome, "conclusion", &f, "intervention-concluded").await
}

pub async fn payment(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<PaymentForm>,
) -> Response {
    let outcome = state.svc.record_payment(&auth.actor, id, &f).await.map(|_| ());
    after(&state, &auth, id, outcome, "payment", &f, "payment-recorded").await
}

pub async fn monitoring(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<MonitoringForm>,
) -> Response {
    let outcome = state.svc.record_monitoring(&auth.actor, id, &f).await.map(|_| ());
    after(&state, &auth, id, outcome, "monitoring", &f, "monitoring-saved").await
}

/// A relapse as a dated event (it adds to the relapse count).
pub async fn relapse(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<percorsi_domain::relapse::RelapseForm>,
) -> Response {
    let outcome = state.svc.record_relapse(&auth.actor, id, &f).await.map(|_| ());
    after(&state, &auth, id, outcome, "relapse", &f, "relapse-saved").await
}

pub async fn attendance(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<AttendanceForm>,
) -> Response {
    let outcome = state.svc.record_attendance(&auth.actor, id, &f).await;
    if allows(auth.actor.role, Permission::TutorInterventions) {
        return match outcome {
            Ok(()) => Redirect::to(&format!("/interventi/{id}?msg=attendance-saved")).into_response(),
            Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
                let (status, inv) = super::form_error(e);
                super::with_status(status, tutor_page(&state, &auth, id, None, Some((&inv, values(&f)))).await)
            }
            Err(e) => fail(&state, auth.lang, e),
        };
    }
    after(&state, &auth, id, outcome, "attendance", &f, "attendance-saved").await
}

fn kind_of(raw: &str) -> Option<AssessmentKind> {
    match raw {
        "pre" => Some(AssessmentKind::PreIntervento),
        "post" => Some(AssessmentKind::PostIntervento),
        _ => None,
    }
}

async fn render_form(
    state: &AppState,
    auth: &Auth,
    id: i64,
    kind: AssessmentKind,
    submitted: Option<(&Invalid, &BTreeMap<String, String>)>,
) -> Response {
    let lang = auth.lang;
    let view = match state.svc.form(&auth.actor, id, kind).await {
        Ok(v) => v,
        Err(e) => return fail(state, lang, e),
    };
    let (errors, list) = submitted.map(|(i, _)| state.ui.errors(lang, i)).unwrap_or_default();
    let answers: BTreeMap<String, String> = match submitted {
        Some((_, raw)) => raw.clone(),
        None => view.answers.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
    };
    let assessed_on = answers.get("assessed_on").cloned().or(view.assessed_on.map(iso)).unwrap_or_else(|| iso(today()));
    let status = if submitted.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! {
            id => id, kind => kind, slug => if kind == AssessmentKind::PreIntervento { "pre" } else { "post" },
            v => view, answers => answers, assessed_on => assessed_on, errors => errors, error_list => list,
            tutor => allows(auth.actor.role, Permission::TutorInterventions),
        },
        ..base(state, lang, Some(&auth.session), "form-title", None),
    };
    state.ui.render(status, "interventions/form.html", ctx)
}

pub async fn form(State(state): State<AppState>, auth: Auth, Path((id, slug)): Path<(i64, String)>) -> Response {
    match kind_of(&slug) {
        Some(kind) => render_form(&state, &auth, id, kind, None).await,
        None => fail(&state, auth.lang, ServiceError::NotFound),
    }
}

pub async fn fill(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, slug)): Path<(i64, String)>,
    Form(raw): Form<BTreeMap<String, String>>,
) -> Response {
    let Some(kind) = kind_of(&slug) else { return fail(&state, auth.lang, ServiceError::NotFound) };
    let mut answers = raw.clone();
    answers.remove("_csrf");
    let assessed_on = answers.remove("assessed_on").unwrap_or_default();
    match state.svc.fill_form(&auth.actor, id, kind, &assessed_on, &answers).await {
        Ok(_) => Redirect::to(&format!("/interventi/{id}?msg=form-saved")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_form(&state, &auth, id, kind, Some((&inv, &raw))).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// The case manager's list: what is due, then every intervention of the organisation.
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    if allows(auth.actor.role, Permission::TutorInterventions) {
        return tutor_list(state, auth).await;
    }
    if !allows(auth.actor.role, Permission::ManageInterventions) {
        return match state.svc.organisation_interventions(&auth.actor).await {
            Ok(rows) => {
                let ctx = context! { ..context! { rows => rows }, ..base(&state, auth.lang, Some(&auth.session), "interventions-org-title", q.msg.as_deref()) };
                state.ui.render(StatusCode::OK, "interventions/list.html", ctx)
            }
            Err(e) => fail(&state, auth.lang, e),
        };
    }
    let due = match state.svc.due(&auth.actor).await {
        Ok(d) => d,
        Err(e) => return fail(&state, auth.lang, e),
    };
    let ctx = context! { ..context! { due => due }, ..base(&state, auth.lang, Some(&auth.session), "interventions-title", q.msg.as_deref()) };
    state.ui.render(StatusCode::OK, "interventions/list.html", ctx)
}

async fn tutor_list(state: AppState, auth: Auth) -> Response {
    match state.svc.tutored(&auth.actor).await {
        Ok(rows) => {
            let ctx = context! { ..context! { rows => rows }, ..base(&state, auth.lang, Some(&auth.session), "tutor-title", None) };
            state.ui.render(StatusCode::OK, "tutor/list.html", ctx)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn tutor_show(state: AppState, auth: Auth, id: i64, msg: Option<&str>) -> Response {
    tutor_page(&state, &auth, id, msg, None).await
}

async fn tutor_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    msg: Option<&str>,
    failure: Option<(&Invalid, Value)>,
) -> Response {
    let detail = match state.svc.tutor_detail(&auth.actor, id).await {
        Ok(d) => d,
        Err(e) => return fail(state, auth.lang, e),
    };
    let (errors, list, failed_values) = match failure {
        Some((inv, v)) => {
            let (e, l) = state.ui.errors(auth.lang, inv);
            (e, l, v)
        }
        None => (Default::default(), Vec::new(), Value::from(())),
    };
    let status = if list.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! {
        ..context! { d => detail, errors => errors, error_list => list, failed_values => failed_values, this_month => today().format("%Y-%m").to_string() },
        ..base(state, auth.lang, Some(&auth.session), "intervention-title", msg),
    };
    state.ui.render(status, "tutor/show.html", ctx)
}
