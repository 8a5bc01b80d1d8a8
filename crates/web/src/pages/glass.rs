//! Break-the-glass pages: the emergency opening form of case managers and operatori, and the
//! auditors' review list.

use super::{base, fail, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::Invalid;
use percorsi_service::glass::{GlassForm, GlassReviewForm};
use percorsi_service::policy::{allows, Permission};
use percorsi_service::ServiceError;

fn render_form(
    state: &AppState,
    auth: &Auth,
    form: &GlassForm,
    invalid: Option<&Invalid>,
    msg: Option<&str>,
) -> Response {
    if !allows(auth.actor.role, Permission::BreakGlass) {
        return fail(state, auth.lang, ServiceError::Forbidden);
    }
    let (errors, summary) = invalid.map(|i| state.ui.errors(auth.lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! { values => form, errors => errors, error_list => summary, hours => state.svc.glass_hours() },
        ..base(state, auth.lang, Some(&auth.session), "glass-title", msg),
    };
    state.ui.render(status, "persons/glass.html", ctx)
}

pub async fn form(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_form(&state, &auth, &GlassForm::default(), None, q.msg.as_deref())
}

pub async fn open(State(state): State<AppState>, auth: Auth, Form(f): Form<GlassForm>) -> Response {
    match state.svc.break_glass(&auth.actor, &f).await {
        Ok(g) => Redirect::to(&format!("/persone/{}?msg=glass-opened", g.person_id)).into_response(),
        Err(ServiceError::Invalid(inv)) => render_form(&state, &auth, &f, Some(&inv), None),
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_reviews(state: &AppState, auth: &Auth, msg: Option<&str>, failed: Option<(i64, &Invalid)>) -> Response {
    let list = match state.svc.glass_reviews(&auth.actor).await {
        Ok(l) => l,
        Err(e) => return fail(state, auth.lang, e),
    };
    let (failed_id, error_list) = match failed {
        Some((id, inv)) => (id, state.ui.errors(auth.lang, inv).1),
        None => (0, Vec::new()),
    };
    let status = if failed.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! { grants => list, failed_id => failed_id, error_list => error_list },
        ..base(state, auth.lang, Some(&auth.session), "glass-review-title", msg),
    };
    state.ui.render(status, "glass_reviews.html", ctx)
}

pub async fn reviews(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_reviews(&state, &auth, q.msg.as_deref(), None).await
}

pub async fn review(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<GlassReviewForm>,
) -> Response {
    match state.svc.review_glass(&auth.actor, id, &f).await {
        Ok(()) => Redirect::to("/audit/emergenze?msg=glass-reviewed").into_response(),
        Err(ServiceError::Invalid(inv)) => render_reviews(&state, &auth, None, Some((id, &inv))).await,
        Err(e) => fail(&state, auth.lang, e),
    }
}
