//! The person's own page (role `persona`) and the invitation that opens it: accepting an
//! invitation (no session yet), the page itself, revoking a consent, the self-assessment. A
//! single column that reads well on a phone.

use super::{base, fail, form_fields, MsgQuery};
use crate::session::{Auth, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::Invalid;
use percorsi_service::own_page::AcceptForm;
use percorsi_service::ServiceError;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InviteQuery {
    codice: String,
}

fn render_accept(state: &AppState, v: &Visitor, form: &AcceptForm, invalid: Option<&Invalid>) -> Response {
    let (errors, list) = invalid.map(|i| state.ui.errors(v.lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        values => form, errors => errors, error_list => list,
        ..base(state, v.lang, None, "invitation-accept-title", None)
    };
    state.ui.render(status, "own/accept.html", ctx)
}

/// The form that turns an invitation into an account (the code may come in the link).
pub async fn accept_form(State(state): State<AppState>, v: Visitor, Query(q): Query<InviteQuery>) -> Response {
    render_accept(&state, &v, &AcceptForm { invitation_code: q.codice, ..Default::default() }, None)
}

pub async fn accept(State(state): State<AppState>, v: Visitor, Form(f): Form<AcceptForm>) -> Response {
    match state.svc.accept_invitation(&f).await {
        Ok(_) => Redirect::to("/login?msg=invitation-accepted").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (_, inv) = super::form_error(e);
            render_accept(&state, &v, &f, Some(&inv))
        }
        Err(e) => fail(&state, v.lang, e),
    }
}

/// The person's page.
pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    let own = match state.svc.own_page(&auth.actor).await {
        Ok(p) => p,
        Err(e) => return fail(&state, auth.lang, e),
    };
    let ctx = context! {
        own => own,
        today => percorsi_service::today().to_string(),
        ..base(&state, auth.lang, Some(&auth.session), "own-title", q.msg.as_deref())
    };
    state.ui.render(StatusCode::OK, "own/page.html", ctx)
}

pub async fn revoke_consent(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.revoke_own_consent(&auth.actor, id).await {
        Ok(()) => Redirect::to("/io?msg=own-consent-revoked").into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_self(
    state: &AppState,
    auth: &Auth,
    values: BTreeMap<String, String>,
    invalid: Option<&Invalid>,
) -> Response {
    let instrument = match state.svc.assessment_instrument().await {
        Ok(i) => i,
        Err(e) => return fail(state, auth.lang, e),
    };
    let (errors, list) = invalid.map(|i| state.ui.errors(auth.lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        instrument => instrument, values => values, errors => errors, error_list => list,
        ..base(state, auth.lang, Some(&auth.session), "self-assessment-title", None)
    };
    state.ui.render(status, "own/self_assessment.html", ctx)
}

pub async fn self_form(State(state): State<AppState>, auth: Auth) -> Response {
    if !percorsi_service::policy::allows(auth.actor.role, percorsi_service::policy::Permission::OwnPage) {
        return fail(&state, auth.lang, ServiceError::Forbidden);
    }
    render_self(&state, &auth, BTreeMap::new(), None).await
}

pub async fn self_assess(
    State(state): State<AppState>,
    auth: Auth,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw = form_fields(pairs);
    match state.svc.self_assess(&auth.actor, &raw).await {
        Ok(_) => Redirect::to("/io?msg=self-assessment-saved").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (_, inv) = super::form_error(e);
            render_self(&state, &auth, raw, Some(&inv)).await
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// The case manager invites the person: the code is shown once, to be printed or read out.
pub async fn invite(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.invite_person(&auth.actor, id).await {
        Ok(invitation) => {
            let ctx = context! {
                person_id => id, invitation => invitation,
                ..base(&state, auth.lang, Some(&auth.session), "invitation-title", None)
            };
            state.ui.render(StatusCode::OK, "own/invitation.html", ctx)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccessForm {
    active: String,
}

/// The organisation in charge switches the person's access off (a lost phone) or on again.
pub async fn set_access(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<AccessForm>,
) -> Response {
    let active = f.active == "true";
    match state.svc.set_person_access(&auth.actor, id, active).await {
        Ok(()) => {
            let msg = if active { "person-access-on" } else { "person-access-off" };
            Redirect::to(&format!("/persone/{id}?msg={msg}")).into_response()
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}
