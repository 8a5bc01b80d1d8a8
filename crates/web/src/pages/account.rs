//! The user's own account page: change the password, see and end sessions, revoke tokens.

use super::{base, fail, MsgQuery};
use crate::session::{Auth, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::user::password_strength;
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

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct StrengthForm {
    password: String,
}

/// The strength of a password being typed (ASVS V2.1.8), as a fragment for the field's live
/// region: a meter and a sentence, with the reason when it would be refused.
pub async fn strength(State(state): State<AppState>, v: Visitor, Form(f): Form<StrengthForm>) -> Response {
    let Some(s) = &v.session else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if f.password.is_empty() {
        return Html(String::new()).into_response();
    }
    let st = password_strength(&f.password, &[&s.info.username, &s.info.display_name]);
    let label = state.ui.t(v.lang, &format!("pw-strength-{}", st.score));
    let verdict = match (st.accepted(), st.common) {
        (true, _) => String::new(),
        (false, true) => format!(" <span class=\"error\">{}</span>", state.ui.t(v.lang, "err-password-common")),
        (false, false) => format!(" <span class=\"error\">{}</span>", state.ui.t(v.lang, "err-password-guessable")),
    };
    Html(format!(
        "<meter min=\"0\" max=\"4\" low=\"2.5\" high=\"3.5\" optimum=\"4\" value=\"{}\" aria-hidden=\"true\"></meter> {}{}",
        st.score, label, verdict
    ))
    .into_response()
}
