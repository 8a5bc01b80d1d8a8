//! Programme pages: list, overview (planned vs activated vs concluded, budget), planning forms.

use super::{after_form, base, code_options, fail, failure_vars, values, FormFailure, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::{context, Value};
use percorsi_domain::programme::{AmountKind, InterventionType, ParticipationForm, ProgrammeForm, RuleForm};
use percorsi_domain::Invalid;
use percorsi_service::policy::{allows, Permission};
use percorsi_service::ServiceError;

async fn render_list(
    state: &AppState,
    auth: &Auth,
    msg: Option<&str>,
    invalid: Option<&Invalid>,
    form: Value,
) -> Response {
    let programmes = match state.svc.programmes(&auth.actor).await {
        Ok(p) => p,
        Err(e) => return fail(state, auth.lang, e),
    };
    // Tutors list the programmes they work in; the money is for those who follow programmes.
    let budget = if allows(auth.actor.role, Permission::ViewProgrammes) {
        match state.svc.budget_by_funding_source(&auth.actor).await {
            Ok(g) => Some(crate::report_view::resolve_grid(&state.ui.i18n, auth.lang, &g)),
            Err(e) => return fail(state, auth.lang, e),
        }
    } else {
        None
    };
    let (errors, list) = invalid.map(|i| state.ui.errors(auth.lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! { programmes => programmes, budget => budget, values => form, errors => errors, error_list => list,
                     can_manage => allows(auth.actor.role, Permission::ManageProgrammes) },
        ..base(state, auth.lang, Some(&auth.session), "programmes-title", msg),
    };
    state.ui.render(status, "programmes/list.html", ctx)
}

pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_list(&state, &auth, q.msg.as_deref(), None, Value::from(())).await
}

pub async fn create(State(state): State<AppState>, auth: Auth, Form(f): Form<ProgrammeForm>) -> Response {
    match state.svc.create_programme(&auth.actor, &f).await {
        Ok(id) => Redirect::to(&format!("/programmi/{id}?msg=saved")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_list(&state, &auth, None, Some(&inv), values(&f)).await)
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
    let overview = match state.svc.programme_overview(&auth.actor, id).await {
        Ok(o) => o,
        Err(e) => return fail(state, lang, e),
    };
    let can_manage = overview.can_manage;
    let organisations =
        if can_manage { super::section!(state, lang, state.svc.organisations().await) } else { Vec::new() };
    let (status, failure_vars) = failure_vars(state, lang, failure);
    let chart = budget_chart(&overview);
    let ctx = context! {
        ..context! {
            o => overview, can_manage => can_manage, organisations => organisations,
            types => code_options(state, lang, "intervention_type", InterventionType::ALL),
            amount_kinds => code_options(state, lang, "amount_kind", AmountKind::ALL),
            chart => chart,
        },
        ..base(state, lang, Some(&auth.session), "programme-title", msg),
        ..failure_vars,
    };
    state.ui.render(status, "programmes/show.html", ctx)
}

/// Bars of the budget per participant (outstanding, paid, available), as percentages of the
/// largest budget, for the server-side SVG chart.
fn budget_chart(o: &percorsi_service::programmes::ProgrammeOverview) -> Vec<minijinja::Value> {
    let max = o.participants.iter().map(|p| p.balance.budget).max().unwrap_or(0).max(1) as f64;
    o.participants
        .iter()
        .map(|p| {
            let w = |v: i64| (v.max(0) as f64 / max * 100.0 * 10.0).round() / 10.0;
            context! {
                name => p.participant.organisation_name.clone(),
                paid => w(p.balance.paid), outstanding => w(p.outstanding), available => w(p.available),
            }
        })
        .collect()
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> Response {
    render_show(&state, &auth, id, q.msg.as_deref(), None).await
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ProgrammeForm>,
) -> Response {
    let outcome = state.svc.update_programme(&auth.actor, id, &f).await;
    let done = format!("/programmi/{id}?msg=saved");
    after_form(&state, auth.lang, outcome, done, "programme", &f, async |failure| {
        render_show(&state, &auth, id, None, Some(failure)).await
    })
    .await
}

pub async fn change_rule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RuleForm>,
) -> Response {
    let outcome = state.svc.change_rule(&auth.actor, id, &f).await.map(|_| ());
    let done = format!("/programmi/{id}?msg=rule-changed");
    after_form(&state, auth.lang, outcome, done, "rule", &f, async |failure| {
        render_show(&state, &auth, id, None, Some(failure)).await
    })
    .await
}

pub async fn participation(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ParticipationForm>,
) -> Response {
    let outcome = state.svc.set_participation(&auth.actor, id, &f).await;
    let done = format!("/programmi/{id}?msg=saved");
    after_form(&state, auth.lang, outcome, done, "participation", &f, async |failure| {
        render_show(&state, &auth, id, None, Some(failure)).await
    })
    .await
}
