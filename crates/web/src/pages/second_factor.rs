//! The second factor in the browser: the code asked after the password, the enrolment page
//! (reachable alone while a required second factor is missing), recovery codes, and the
//! re-authentication asked before sensitive actions.

use super::{base, fail};
use crate::i18n::Lang;
use crate::session::{safe_next, Auth, SessionState, Visitor};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::Invalid;
use percorsi_service::auth::SessionStage;
use percorsi_service::ServiceError;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

fn code_page(state: &AppState, v: &Visitor, next: &str, invalid: Option<&Invalid>, status: StatusCode) -> Response {
    let (errors, list) = invalid.map(|i| state.ui.errors(v.lang, i)).unwrap_or_default();
    let ctx = context! {
        next => next, errors => errors, error_list => list,
        ..base(state, v.lang, v.session.as_deref(), "mfa-code-title", None)
    };
    state.ui.render(status, "login_code.html", ctx)
}

/// The code asked after a right password.
pub async fn code_form(State(state): State<AppState>, v: Visitor, Query(q): Query<NextQuery>) -> Response {
    match v.session.as_ref().map(|s| s.info.stage) {
        Some(SessionStage::Code) => code_page(&state, &v, q.next.as_deref().unwrap_or(""), None, StatusCode::OK),
        Some(_) => Redirect::to("/home").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

pub async fn code(State(state): State<AppState>, v: Visitor, Form(f): Form<CodeForm>) -> Response {
    let Some(s) = v.session.as_ref().filter(|s| s.info.stage == SessionStage::Code) else {
        return Redirect::to("/login?msg=session-expired").into_response();
    };
    match state.svc.verify_second_factor(&s.token, &f.code).await {
        Ok(token) => {
            let next = safe_next(Some(&f.next).filter(|n| !n.is_empty()).map(|s| s.as_str()));
            ([(header::SET_COOKIE, super::auth::session_set_cookie(&state, &token, None))], Redirect::to(&next))
                .into_response()
        }
        Err(ServiceError::Invalid(inv)) => code_page(&state, &v, &f.next, Some(&inv), StatusCode::UNAUTHORIZED),
        Err(ServiceError::Throttled(seconds)) => {
            let inv = Invalid(vec![
                percorsi_domain::FieldError::new("code", "err-login-throttled").arg("seconds", seconds.to_string())
            ]);
            let page = code_page(&state, &v, &f.next, Some(&inv), StatusCode::TOO_MANY_REQUESTS);
            super::with_retry_after(page, seconds.into())
        }
        Err(e) => fail(&state, v.lang, e),
    }
}

/// A signed-in session, whether or not it has chosen its role or still has to enrol.
fn signed_in(v: &Visitor) -> Option<Arc<SessionState>> {
    v.session.clone().filter(|s| s.info.stage != SessionStage::Code)
}

async fn mfa_page(
    state: &AppState,
    lang: Lang,
    s: &SessionState,
    codes: Option<Vec<String>>,
    invalid: Option<&Invalid>,
    msg: Option<&str>,
) -> Response {
    let view = match state.svc.second_factor(&s.info).await {
        Ok(v) => v,
        Err(e) => return fail(state, lang, e),
    };
    let (errors, list) = invalid.map(|i| state.ui.errors(lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! {
            mfa => view, codes => codes, errors => errors, error_list => list,
            enrol_stage => s.info.stage == SessionStage::Enrol,
        },
        ..base(state, lang, Some(s), "mfa-title", msg),
    };
    state.ui.render(status, "account_mfa.html", ctx)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MsgOnly {
    msg: Option<String>,
}

pub async fn show(State(state): State<AppState>, v: Visitor, Query(q): Query<MsgOnly>) -> Response {
    let Some(s) = signed_in(&v) else {
        return Redirect::to("/login").into_response();
    };
    mfa_page(&state, v.lang, &s, None, None, q.msg.as_deref()).await
}

pub async fn begin(State(state): State<AppState>, v: Visitor) -> Response {
    let Some(s) = signed_in(&v) else {
        return Redirect::to("/login").into_response();
    };
    match state.svc.begin_enrolment(&s.info).await {
        Ok(()) => Redirect::to("/account/mfa").into_response(),
        Err(e) => fail(&state, v.lang, e),
    }
}

/// Confirms the enrolment and shows the recovery codes once (the page is not a redirect, so
/// they appear in no URL or history entry).
pub async fn confirm(State(state): State<AppState>, v: Visitor, Form(f): Form<CodeForm>) -> Response {
    let Some(s) = signed_in(&v) else {
        return Redirect::to("/login").into_response();
    };
    match state.svc.confirm_enrolment(&s.info, &s.token, &f.code).await {
        Ok(done) => {
            let page = mfa_page(&state, v.lang, &s, Some(done.recovery_codes), None, Some("mfa-enabled")).await;
            match done.new_session {
                // The session that waited for the enrolment is replaced; its CSRF token in the
                // page just rendered is the old one, so the page offers only links onwards.
                Some(token) => {
                    let mut page = page;
                    if let Ok(v) = super::auth::session_set_cookie(&state, &token, None).parse() {
                        page.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    page
                }
                None => page,
            }
        }
        Err(ServiceError::Invalid(inv)) => mfa_page(&state, v.lang, &s, None, Some(&inv), None).await,
        Err(e) => fail(&state, v.lang, e),
    }
}

pub async fn renew_codes(State(state): State<AppState>, auth: Auth) -> Response {
    match state.svc.renew_recovery_codes(&auth.actor).await {
        Ok(codes) => mfa_page(&state, auth.lang, &auth.session, Some(codes), None, Some("mfa-codes-renewed")).await,
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn remove(State(state): State<AppState>, auth: Auth) -> Response {
    match state.svc.remove_own_second_factor(&auth.actor, &auth.session.info).await {
        Ok(()) => Redirect::to("/account/mfa?msg=mfa-removed").into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    password: String,
    next: String,
}

fn confirm_page(state: &AppState, auth: &Auth, next: &str, invalid: Option<&Invalid>, status: StatusCode) -> Response {
    let (errors, list) = invalid.map(|i| state.ui.errors(auth.lang, i)).unwrap_or_default();
    let ctx = context! {
        next => next, next_q => crate::session::urlencode(next), errors => errors, error_list => list,
        sso => auth.session.info.method == "oidc",
        ..base(state, auth.lang, Some(&auth.session), "reauth-title", None)
    };
    state.ui.render(status, "reauthenticate.html", ctx)
}

/// "Confirm it is you": asked before a sensitive action when the last sign-in is not recent.
/// Returns to the page the action was started from.
pub async fn reauth_form(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next =
        q.next.or_else(|| crate::session::referer_path(&headers)).map(|n| safe_next(Some(&n))).unwrap_or_default();
    confirm_page(&state, &auth, &next, None, StatusCode::OK)
}

pub async fn reauth(State(state): State<AppState>, auth: Auth, Form(f): Form<ConfirmForm>) -> Response {
    match state.svc.reauthenticate(&auth.session.info, &auth.session.token, &f.password).await {
        Ok(()) => {
            let next = safe_next(Some(&f.next).filter(|n| !n.is_empty()).map(|s| s.as_str()));
            let sep = if next.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{next}{sep}msg=reauthenticated")).into_response()
        }
        Err(ServiceError::Invalid(inv)) => confirm_page(&state, &auth, &f.next, Some(&inv), StatusCode::UNAUTHORIZED),
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// Where a session that is not complete may go: a session waiting for its code reaches only
/// the code page (and signing out); one that must enrol reaches only the enrolment. `None`
/// lets the request through; otherwise the path to send the browser to.
pub(crate) fn stage_gate(stage: SessionStage, path: &str) -> Option<&'static str> {
    let always = path == "/logout" || path.starts_with("/lang/") || path.starts_with("/static/") || path == "/login";
    match stage {
        SessionStage::Full => None,
        _ if always => None,
        SessionStage::Code if path == "/login/codice" => None,
        SessionStage::Code => Some("/login/codice"),
        SessionStage::Enrol if path.starts_with("/account/mfa") || path == "/password/robustezza" => None,
        SessionStage::Enrol => Some("/account/mfa"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_session_reaches_only_its_next_step() {
        assert_eq!(stage_gate(SessionStage::Code, "/home"), Some("/login/codice"));
        assert_eq!(stage_gate(SessionStage::Code, "/account/mfa"), Some("/login/codice"));
        assert_eq!(stage_gate(SessionStage::Code, "/api/v1/me"), Some("/login/codice"));
        assert_eq!(stage_gate(SessionStage::Code, "/login/codice"), None);
        assert_eq!(stage_gate(SessionStage::Code, "/logout"), None);
        assert_eq!(stage_gate(SessionStage::Enrol, "/persone"), Some("/account/mfa"));
        assert_eq!(stage_gate(SessionStage::Enrol, "/ruolo"), Some("/account/mfa"));
        assert_eq!(stage_gate(SessionStage::Enrol, "/account/mfa/conferma"), None);
        assert_eq!(stage_gate(SessionStage::Full, "/persone"), None);
    }
}
