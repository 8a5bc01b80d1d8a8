//! The user's own account page: change the password, see and end sessions, revoke tokens.

use super::{base, fail, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::Invalid;
use percorsi_service::account::PasswordChange;
use percorsi_service::ServiceError;

async fn render(state: &AppState, auth: &Auth, msg: Option<&str>, invalid: Option<&Invalid>) -> Response {
    let view = match state.svc.account(&auth.session.info, &auth.session.token).await {
        Ok(v) => v,
        Err(e) => return fail(state, auth.lang, e),
    };
    let (errors, list) = invalid.map(|i| state.ui.errors(auth.lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! { v => view, errors => errors, error_list => list },
        ..base(state, auth.lang, Some(&auth.session), "account-title", msg),
    };
    state.ui.render(status, "account.html", ctx)
}

pub async fn show(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render(&state, &auth, q.msg.as_deref(), None).await
}

pub async fn password(State(state): State<AppState>, auth: Auth, Form(f): Form<PasswordChange>) -> Response {
    match state.svc.change_own_password(&auth.session.info, &auth.session.token, &f).await {
        Ok(_) => Redirect::to("/account?msg=password-changed").into_response(),
        Err(ServiceError::Invalid(inv)) => render(&state, &auth, None, Some(&inv)).await,
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn end_session(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Response {
    match state.svc.end_own_session(&auth.session.info, &id).await {
        Ok(()) => Redirect::to("/account?msg=session-ended").into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn revoke_token(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.revoke_own_token(&auth.session.info, id).await {
        Ok(()) => Redirect::to("/account?msg=token-revoked").into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}
