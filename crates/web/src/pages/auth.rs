use super::{base, fail, MsgQuery};
use crate::i18n::Lang;
use crate::session::{safe_next, session_cookie, set_cookie, Visitor, LANG_COOKIE};
use crate::AppState;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_service::auth::SessionStage;
use percorsi_service::ServiceError;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

pub async fn login_form(State(state): State<AppState>, v: Visitor, Query(q): Query<MsgQuery>) -> Response {
    let ctx = context! {
        next => q.next, values => context!{}, sso => state.svc.sso_label(),
        ..base(&state, v.lang, None, "login-title", q.msg.as_deref())
    };
    state.ui.render(StatusCode::OK, "login.html", ctx)
}

pub async fn login(
    State(state): State<AppState>,
    v: Visitor,
    source: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    Form(f): Form<LoginForm>,
) -> Response {
    // The peer's address (the proxy's, behind a reverse proxy) for per-address throttling.
    let source = source.map(|axum::Extension(ConnectInfo(addr))| addr.ip().to_string());
    match state.svc.login(&f.username, &f.password, source.as_deref()).await {
        Ok(ok) => {
            let cookie = session_set_cookie(&state, &ok.session_token, None);
            let next = safe_next(Some(&f.next).filter(|n| !n.is_empty()).map(|s| s.as_str()));
            let to = match ok.stage {
                SessionStage::Code => format!("/login/codice?next={}", crate::session::urlencode(&next)),
                SessionStage::Enrol => "/account/mfa?msg=mfa-needed".to_string(),
                SessionStage::Full => next,
            };
            ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response()
        }
        Err(ServiceError::Unauthenticated) => login_error(&state, v.lang, &f, "err-login"),
        Err(ServiceError::Conflict(key)) => login_error(&state, v.lang, &f, key),
        Err(ServiceError::Throttled(seconds)) => {
            let message = state.ui.i18n.t(v.lang, "err-login-throttled", &[("seconds", seconds.to_string())]);
            let page = login_page(&state, v.lang, &f, message, StatusCode::TOO_MANY_REQUESTS);
            super::with_retry_after(page, seconds.into())
        }
        Err(e) => fail(&state, v.lang, e),
    }
}

fn login_error(state: &AppState, lang: Lang, f: &LoginForm, key: &str) -> Response {
    login_page(state, lang, f, state.ui.t(lang, key), StatusCode::UNAUTHORIZED)
}

fn login_page(state: &AppState, lang: Lang, f: &LoginForm, message: String, status: StatusCode) -> Response {
    let ctx = context! {
        next => f.next.clone(),
        login_error => message,
        values => context! { username => f.username.clone() },
        sso => state.svc.sso_label(),
        ..base(state, lang, None, "login-title", None),
    };
    state.ui.render(status, "login.html", ctx)
}

pub async fn logout(State(state): State<AppState>, v: Visitor) -> Response {
    if let Some(s) = &v.session {
        if let Err(e) = state.svc.logout(&s.token).await {
            return fail(&state, v.lang, e);
        }
    }
    let clear = session_set_cookie(&state, "", Some(0));
    ([(header::SET_COOKIE, clear)], Redirect::to("/login?msg=logged-out")).into_response()
}

pub async fn choose_form(State(state): State<AppState>, v: Visitor) -> Response {
    let Some(s) = &v.session else {
        return Redirect::to("/login").into_response();
    };
    let ctx =
        context! { memberships => s.info.memberships.clone(), ..base(&state, v.lang, Some(s), "role-title", None) };
    state.ui.render(StatusCode::OK, "choose_role.html", ctx)
}

#[derive(Deserialize)]
pub struct ChooseForm {
    membership_id: String,
}

pub async fn choose(State(state): State<AppState>, v: Visitor, Form(f): Form<ChooseForm>) -> Response {
    let Some(s) = &v.session else {
        return Redirect::to("/login").into_response();
    };
    let Ok(id) = f.membership_id.parse::<i64>() else {
        return fail(&state, v.lang, ServiceError::NotFound);
    };
    match state.svc.choose_membership(&s.token, id).await {
        Ok((_, token)) => {
            let cookie = session_set_cookie(&state, &token, None);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/home")).into_response()
        }
        Err(e) => fail(&state, v.lang, e),
    }
}

/// Switches the interface language and returns to the page the user was on.
pub async fn set_lang(State(state): State<AppState>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::It);
    let back = crate::session::referer_path(&headers);
    let cookie = set_cookie(LANG_COOKIE, lang.code(), Some(60 * 60 * 24 * 365), state.ui.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(back.as_deref()))).into_response()
}

/// The `Set-Cookie` of the session, named and flagged as the installation serves it.
pub(super) fn session_set_cookie(state: &AppState, token: &str, max_age: Option<i64>) -> String {
    set_cookie(session_cookie(state.ui.secure_cookies), token, max_age, state.ui.secure_cookies)
}

/// The cookie that binds a single sign-on under way to the browser that started it, so that a
/// provider's answer obtained by someone else cannot sign this browser in (login CSRF).
const SSO_STATE_COOKIE: &str = "percorsi_sso_state";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SsoStart {
    next: String,
    reauth: Option<String>,
}

/// Sends the browser to the identity provider (to sign in, or to confirm who it is).
pub async fn sso_start(State(state): State<AppState>, v: Visitor, Query(q): Query<SsoStart>) -> Response {
    let next = safe_next(Some(&q.next).filter(|n| !n.is_empty()).map(|s| s.as_str()));
    let reauth = q.reauth.is_some().then(|| v.session.as_ref().map(|s| s.token.clone())).flatten();
    match state.svc.sso_start(&next, reauth.as_deref()).await {
        Ok((sso_state, url)) => {
            let cookie = set_cookie(SSO_STATE_COOKIE, &sso_state, Some(600), state.ui.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response()
        }
        Err(ServiceError::Conflict(key)) => sso_error(&state, v.lang, key),
        Err(e) => fail(&state, v.lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SsoCallback {
    code: String,
    state: String,
    error: Option<String>,
}

/// The provider's answer.
pub async fn sso_callback(
    State(state): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Query(q): Query<SsoCallback>,
) -> Response {
    let clear = set_cookie(SSO_STATE_COOKIE, "", Some(0), state.ui.secure_cookies);
    let bound = crate::session::cookie(&headers, SSO_STATE_COOKIE).is_some_and(|c| !c.is_empty() && c == q.state);
    if q.error.is_some() || q.code.is_empty() || !bound {
        let key = if q.error.is_some() { "err-sso-failed" } else { "err-sso-expired" };
        return ([(header::SET_COOKIE, clear)], sso_error(&state, v.lang, key)).into_response();
    }
    match state.svc.sso_finish(&q.state, &q.code).await {
        Ok(percorsi_service::sso::SsoOutcome::SignedIn { session_token, next }) => {
            let session = session_set_cookie(&state, &session_token, None);
            ([(header::SET_COOKIE, clear), (header::SET_COOKIE, session)], Redirect::to(&safe_next(Some(&next))))
                .into_response()
        }
        Ok(percorsi_service::sso::SsoOutcome::Reauthenticated { next }) => {
            let next = safe_next(Some(&next));
            let sep = if next.contains('?') { '&' } else { '?' };
            ([(header::SET_COOKIE, clear)], Redirect::to(&format!("{next}{sep}msg=reauthenticated"))).into_response()
        }
        Err(ServiceError::Conflict(key)) => {
            ([(header::SET_COOKIE, clear)], sso_error(&state, v.lang, key)).into_response()
        }
        Err(e) => fail(&state, v.lang, e),
    }
}

fn sso_error(state: &AppState, lang: Lang, key: &str) -> Response {
    login_page(state, lang, &LoginForm::default(), state.ui.t(lang, key), StatusCode::UNAUTHORIZED)
}
