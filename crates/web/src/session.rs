//! Sessions for the HTML interface: cookie → session → actor, CSRF on every state-changing
//! request, and the language choice.

use crate::i18n::Lang;
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use percorsi_service::auth::SessionInfo;
use percorsi_service::Actor;
use std::sync::Arc;

/// The session cookie's name: over HTTPS with the `__Host-` prefix, which browsers accept only
/// with `Secure`, `Path=/` and no `Domain` (no other host or path can set or shadow it).
pub fn session_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-percorsi_session"
    } else {
        "percorsi_session"
    }
}
pub const LANG_COOKIE: &str = "percorsi_lang";
pub const CSRF_FIELD: &str = "_csrf";

#[derive(Clone)]
pub struct SessionState {
    pub token: String,
    pub info: SessionInfo,
    /// The page asked for (the menu marks the section it belongs to).
    pub path: String,
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE).as_deref().and_then(Lang::parse).unwrap_or(Lang::It)
}

pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Resolves the session for every HTML request and enforces CSRF on unsafe methods.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let session = match cookie(&parts.headers, session_cookie(state.ui.secure_cookies)) {
        Some(token) => match state.svc.session(&token).await {
            Ok(Some(info)) => Some(Arc::new(SessionState { token, info, path: parts.uri.path().to_string() })),
            Ok(None) => None,
            // A failure is the error page of its kind (503 with the reason when the database
            // is unavailable), never an anonymous page.
            Err(e) => return crate::pages::fail(&state, lang_of(&parts.headers), e),
        },
        None => None,
    };
    let mut body = body;
    // Signing in has no session to carry a token yet: a login posted from another site (login
    // CSRF: the victim ends up in the attacker's account) is refused on what browsers say about
    // where the form came from.
    let sessionless = matches!(parts.uri.path(), "/login" | "/invito");
    if parts.method == Method::POST && sessionless && !from_our_pages(&parts.headers) {
        let lang = lang_of(&parts.headers);
        return crate::pages::error_page(&state, lang, StatusCode::FORBIDDEN, "err-csrf");
    }
    if parts.method != Method::GET && parts.method != Method::HEAD && !sessionless {
        let expected = session.as_ref().map(|s| s.info.csrf_token.clone());
        let header_token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
        let multipart = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let given = match header_token {
            Some(t) => Some(t),
            // A file upload is not buffered here: the form's origin stands in for the token
            // (the session cookie is SameSite=Lax as well).
            None if multipart => same_origin(&parts.headers).then(|| expected.clone()).flatten(),
            None => {
                let bytes = match to_bytes(body, crate::MAX_BODY_BYTES).await {
                    Ok(b) => b,
                    Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
                };
                let token = form_field(&bytes, CSRF_FIELD);
                body = Body::from(bytes);
                token
            }
        };
        let ok = matches!((&expected, &given), (Some(e), Some(g)) if constant_time_eq(e.as_bytes(), g.as_bytes()));
        if !ok {
            if expected.is_none() {
                return Redirect::to("/login?msg=session-expired").into_response();
            }
            let lang = lang_of(&parts.headers);
            return crate::pages::error_page(&state, lang, StatusCode::FORBIDDEN, "err-csrf");
        }
    }
    if let Some(s) = session {
        if let Some(to) = crate::pages::second_factor::stage_gate(s.info.stage, parts.uri.path()) {
            return Redirect::to(to).into_response();
        }
        parts.extensions.insert(s);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Whether nothing the browser says contradicts the request coming from our own pages: a
/// `Sec-Fetch-Site` other than same-origin (or none, typed by the user), or an `Origin` that is
/// not this host, is another site. Clients that send neither are not browsers acting for a
/// victim.
fn from_our_pages(headers: &axum::http::HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    if headers.contains_key(header::ORIGIN) {
        return same_origin(headers);
    }
    true
}

/// Whether the browser says the request comes from one of our own pages.
fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (host, origin) {
        (Some(h), Some(o)) => o.split_once("://").is_some_and(|(_, rest)| rest == h),
        _ => false,
    }
}

fn form_field(bytes: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Any page: the language and, if signed in, the session.
pub struct Visitor {
    pub lang: Lang,
    pub session: Option<Arc<SessionState>>,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor { lang: lang_of(&parts.headers), session: parts.extensions.get::<Arc<SessionState>>().cloned() })
    }
}

/// A signed-in user acting in a chosen organisation and role; otherwise a redirect to log in
/// or to choose the role.
pub struct Auth {
    pub lang: Lang,
    pub session: Arc<SessionState>,
    pub actor: Actor,
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let Some(session) = parts.extensions.get::<Arc<SessionState>>().cloned() else {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let target = format!("/login?next={}", urlencode(next));
            return Err(Redirect::to(&target).into_response());
        };
        let Some(actor) = session.info.actor.clone() else {
            return Err(Redirect::to("/ruolo").into_response());
        };
        Ok(Auth { lang, session, actor })
    }
}

/// The local path of the page a request came from, as its `Referer` says.
pub fn referer_path(headers: &HeaderMap) -> Option<String> {
    let r = headers.get(header::REFERER)?.to_str().ok()?;
    let rest = &r[r.find("://")? + 3..];
    Some(rest[rest.find('/')?..].to_string())
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|e| e.trim_start_matches('=').to_string()).unwrap_or_default()
}

/// Only local paths are accepted as post-login destinations (no open redirects). Browsers drop
/// tabs and line breaks from a `Location` (`/\t/evil.example` becomes `//evil.example`) and a
/// header cannot carry control characters at all: only visible ASCII is kept.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            n.to_string()
        }
        _ => "/home".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next(Some("/persone/3")), "/persone/3");
        assert_eq!(safe_next(Some("//evil.example")), "/home");
        assert_eq!(safe_next(Some("https://evil.example")), "/home");
        assert_eq!(safe_next(None), "/home");
        for hostile in ["/\t/evil.example", "/\n/evil.example", "/\r\nSet-Cookie: x=1", "/a\0b", "/\\evil", "/ /x"] {
            assert_eq!(safe_next(Some(hostile)), "/home", "{hostile:?}");
        }
        assert_eq!(safe_next(Some("/persone?q=Rossi&p=2")), "/persone?q=Rossi&p=2");
    }

    #[test]
    fn cookies_are_parsed() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; percorsi_lang=en; b=2".parse().unwrap());
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn csrf_field_is_found_in_form_bodies() {
        assert_eq!(form_field(b"a=1&_csrf=abc%20d", "_csrf").as_deref(), Some("abc d"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
    }
}
