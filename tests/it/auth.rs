use crate::support::TestApp;
use axum::http::StatusCode;

#[tokio::test]
async fn login_logout_and_protected_pages() {
    let app = TestApp::new().await;
    let anon = app.client();
    let r = anon.get("/home").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login?next=%2Fhome"), "{}", r.location());

    let c = app.login("anna").await;
    let home = c.get("/home").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("SerD Zona 1-MS"), "the acting organisation is always shown");
    assert!(home.body.contains("Case manager"));

    let out = c.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/home").await.status, StatusCode::SEE_OTHER, "session is gone after logout");
}

/// ASVS V2.2.1: failures slow the next attempt down, they never lock the real user out; an
/// unknown username, a disabled account and a wrong password behave exactly alike.
#[tokio::test]
async fn repeated_failures_slow_sign_in_down_and_never_lock_the_account() {
    let app = TestApp::new().await;
    let admin = app.actor("admin").await;
    let paola = app.actor("paola").await;
    app.svc.set_user_active(&admin, paola.user_id, false).await.unwrap();
    let c = app.client();
    let attempt = |user: &'static str, password: &'static str| {
        let c = c.clone();
        async move { c.post_raw("/login", &[("username", user), ("password", password)]).await }
    };
    let mut seen: Vec<Vec<u16>> = Vec::new();
    for user in ["luca", "nessuno", "paola"] {
        let mut statuses = Vec::new();
        for _ in 0..percorsi_service::auth::FREE_FAILURES_PER_USER {
            let r = attempt(user, "sbagliata").await;
            statuses.push(r.status.as_u16());
            if r.status == StatusCode::UNAUTHORIZED {
                assert!(r.body.contains("Nome utente o password non corretti"), "{user}");
            }
        }
        let r = attempt(user, "sbagliata").await;
        statuses.push(r.status.as_u16());
        assert!(r.body.contains("attendi") && r.body.contains("non è bloccato"), "{user}: {}", r.body);
        assert!(r.header("retry-after").is_some());
        seen.push(statuses);
    }
    assert_eq!(seen[0], vec![401, 401, 401, 429], "real account: three free attempts, then a wait");
    assert_eq!(seen[0], seen[1], "an unknown name answers exactly like a real one");
    assert_eq!(seen[0], seen[2], "a disabled account answers exactly like a real one");
    // While waiting, even the right password is not checked; once the wait is over it works.
    // Both are set by moving the last failure in time, so no clock decides the test.
    crate::support::sqlx_exec(
        app.svc.store(),
        "UPDATE login_throttle SET last_failure_at = '2999-01-01T00:00:00.000000Z'",
    )
    .await;
    let r = attempt("luca", percorsi_service::demo::DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    crate::support::sqlx_exec(
        app.svc.store(),
        "UPDATE login_throttle SET last_failure_at = '2000-01-01T00:00:00.000000Z'",
    )
    .await;
    let r = attempt("luca", percorsi_service::demo::DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "never locked out: {}", r.body);
    // The burst is one audit entry, not one per failure.
    let auditor = app.actor("auditor").await;
    let q = percorsi_service::audit::AuditQuery { user: String::new(), ..Default::default() };
    let failed = app
        .svc
        .audit_trail(&auditor, &q, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.action == "login_failed" && r.entry.username == "luca")
        .count();
    assert_eq!(failed, 1, "one entry for the burst of failures");
}

#[tokio::test]
async fn many_names_from_one_address_are_slowed_down_too() {
    let app = TestApp::new().await;
    let free = percorsi_service::auth::FREE_FAILURES_PER_ADDRESS;
    for n in 0..free {
        let r = app.svc.login(&format!("nome{n}"), "x", Some("203.0.113.7")).await;
        assert!(matches!(r, Err(percorsi_service::ServiceError::Unauthenticated)), "{n}: {r:?}");
    }
    let r = app.svc.login("nome-nuovo", "x", Some("203.0.113.7")).await;
    assert!(matches!(r, Err(percorsi_service::ServiceError::Throttled(_))), "{r:?}");
    let r = app.svc.login("luca", percorsi_service::demo::DEMO_PASSWORD, Some("198.51.100.1")).await;
    assert!(r.is_ok(), "another address is not slowed down");
}

#[tokio::test]
async fn unknown_user_gets_the_same_answer() {
    let app = TestApp::new().await;
    let r = app.client().post_raw("/login", &[("username", "nobody"), ("password", "x")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Nome utente o password non corretti"));
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let app = TestApp::new().await;
    let mut c = app.login("anna").await;
    c.csrf = Some("forged".into());
    let r = c.post("/persone", &[("surname", "Rossi")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    c.csrf = None;
    let r = c.post("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/home").await.status, StatusCode::OK, "the forged requests changed nothing");
}

#[tokio::test]
async fn a_login_posted_from_another_site_is_refused() {
    let app = TestApp::new().await;
    let form = "username=anna&password=percorsi-demo";
    let ct = "application/x-www-form-urlencoded";
    for headers in [
        vec![("origin", "https://evil.example"), ("host", "percorsi.example")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "null"), ("host", "percorsi.example")],
    ] {
        let r = app.client().raw_with("POST", "/login", ct, form, &headers).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(r.header("set-cookie").is_none(), "no session for a cross-site login");
    }
    for headers in [
        vec![("origin", "http://percorsi.example"), ("host", "percorsi.example")],
        vec![("sec-fetch-site", "same-origin")],
        vec![],
    ] {
        let r = app.client().raw_with("POST", "/login", ct, form, &headers).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{headers:?}: {}", r.body);
    }
}

#[tokio::test]
async fn user_with_two_organisations_chooses_and_switches() {
    let app = TestApp::new().await;
    let mut c = app.login("giulia").await;
    let r = c.get("/home").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/ruolo");
    let page = c.get("/ruolo").await;
    assert!(
        page.body.contains("SerD Zona 6-LI") && page.body.contains("L&#x27;Approdo") || page.body.contains("L'Approdo")
    );
    let giulia = app.svc.cli_users().await.unwrap().into_iter().find(|u| u.user.username == "giulia").unwrap();
    let approdo = giulia.memberships.iter().find(|m| m.organisation_name.contains("Approdo")).unwrap();
    let serd = giulia.memberships.iter().find(|m| m.organisation_name.contains("6-LI")).unwrap();
    let before = (c.cookie.clone(), c.csrf.clone());
    let r = c.post("/ruolo", &[("membership_id", &approdo.id.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The switch rotates the session: the old cookie no longer works, the new one does.
    let old = c.clone();
    let stale = old.get("/home").await;
    assert!(
        stale.status == StatusCode::SEE_OTHER && stale.location().starts_with("/login"),
        "the pre-switch session id is dead: {}",
        stale.location()
    );
    let set = r.header("set-cookie").expect("a new session cookie");
    c.cookie = Some(set.split(';').next().unwrap_or_default().to_string());
    assert_ne!(c.cookie, before.0);
    c.refresh_csrf().await;
    assert_ne!(c.csrf, before.1, "and a new CSRF token");
    let home = c.get("/home").await.body;
    assert!(home.contains("Approdo") && home.contains("Operatore"));
    let r = c.post("/ruolo", &[("membership_id", &serd.id.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let set = r.header("set-cookie").expect("a new session cookie");
    c.cookie = Some(set.split(';').next().unwrap_or_default().to_string());
    c.refresh_csrf().await;
    let home = c.get("/home").await.body;
    assert!(home.contains("SerD Zona 6-LI") && home.contains("Case manager"));
    // Someone else's membership cannot be chosen.
    let anna = app.actor("anna").await;
    let r = c.post("/ruolo", &[("membership_id", &anna.membership_id.to_string())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn language_switch_and_english_pages() {
    let app = TestApp::new().await;
    let c = app.client();
    let r = c.get("/lang/en").await;
    assert!(r.header("set-cookie").unwrap().starts_with("percorsi_lang=en"));
    let mut c = app.login("anna").await;
    c.lang = Some("en");
    let home = c.get("/home").await.body;
    assert!(home.contains("People you follow"), "English home page");
    assert!(home.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let c = app.client();
    assert_eq!(c.get("/healthz").await.status, StatusCode::OK);
    let r = c.get("/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "ready"));
    let css = c.get("/static/htmx.min.js").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains("htmx"));
    let page = c.get("/login").await;
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(c.get("/metrics").await.status, StatusCode::NOT_FOUND, "off without a configured token");
    let config = percorsi_web::WebConfig { metrics_token: Some("scrape-secret".into()), ..Default::default() };
    let mut scraper = crate::support::Client::for_router(percorsi_web::router(app.svc.clone(), config));
    assert_eq!(scraper.get("/metrics").await.status, StatusCode::UNAUTHORIZED, "anyone else is refused");
    scraper.bearer = Some("wrong".into());
    assert_eq!(scraper.get("/metrics").await.status, StatusCode::UNAUTHORIZED);
    scraper.bearer = Some("scrape-secret".into());
    let metrics = scraper.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.body.contains("percorsi_http_requests_total{class=\"2xx\"}"), "{}", metrics.body);
    assert!(
        metrics.body.contains("percorsi_records{kind=\"person\"}") && metrics.body.contains("percorsi_database_up 1")
    );
    assert!(page.header("content-security-policy").unwrap().contains("default-src 'self'"));
}

#[tokio::test]
async fn a_password_reset_ends_every_session_and_token_of_the_account() {
    let app = TestApp::new().await;
    let luca = app.login("luca").await;
    let token = app.api_client("luca").await;
    assert_eq!(luca.get("/home").await.status, StatusCode::OK);
    assert_eq!(token.get("/api/v1/me").await.status, StatusCode::OK);
    let luca_id = app.actor("luca").await.user_id;
    let admin = app.login("admin").await;
    let r = admin.post(&format!("/admin/utenti/{luca_id}/password"), &[("password", "una-nuova-password-lunga")]).await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    assert_eq!(luca.get("/home").await.status, StatusCode::SEE_OTHER, "the old session is over");
    assert_eq!(token.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "the old token is revoked");
    let r = app.client().post_raw("/login", &[("username", "luca"), ("password", "una-nuova-password-lunga")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the new password works");
}

#[tokio::test]
async fn users_of_a_deactivated_organisation_lose_sessions_tokens_and_login() {
    let app = TestApp::new().await;
    let paola = app.login("paola").await;
    let token = app.api_client("paola").await;
    assert_eq!(paola.get("/home").await.status, StatusCode::OK);
    assert_eq!(token.get("/api/v1/me").await.status, StatusCode::OK);
    let admin = app.actor("admin").await;
    let org = app.svc.organisations().await.unwrap().into_iter().find(|o| o.name.contains("Servizio sociale")).unwrap();
    let form = percorsi_domain::organisation::OrganisationForm {
        name: org.name.clone(),
        kind: org.kind.clone(),
        parent_id: org.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        territory: org.territory.clone().unwrap_or_default(),
    };
    app.svc.update_organisation(&admin, org.id, &form, false).await.expect("deactivate");
    let r = paola.get("/home").await;
    assert!(r.status == StatusCode::SEE_OTHER && r.location().starts_with("/login"), "session ended: {}", r.location());
    assert_eq!(token.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "token refused");
    let r = app
        .client()
        .post_raw("/login", &[("username", "paola"), ("password", percorsi_service::demo::DEMO_PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no login into a deactivated organisation");
    // Reactivated, everything works again.
    app.svc.update_organisation(&admin, org.id, &form, true).await.expect("reactivate");
    app.login("paola").await;
}

/// ASVS V3.3.2: a session ends 12 hours after signing in however active it is, and switching
/// role does not restart the count.
#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in_even_across_a_role_switch() {
    let app = TestApp::new().await;
    let ago =
        |h: i64| (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let c = app.login("luca").await;
    assert_eq!(c.get("/home").await.status, StatusCode::OK);
    crate::support::sqlx_exec(app.svc.store(), &format!("UPDATE sessions SET created_at = '{}'", ago(13))).await;
    let r = c.get("/home").await;
    assert!(r.status == StatusCode::SEE_OTHER && r.location().starts_with("/login"), "{}", r.status);

    let mut c = app.login("giulia").await;
    let eleven = ago(11);
    crate::support::sqlx_exec(app.svc.store(), &format!("UPDATE sessions SET created_at = '{eleven}'")).await;
    let giulia = app.svc.cli_users().await.unwrap().into_iter().find(|u| u.user.username == "giulia").unwrap();
    let r = c.post("/ruolo", &[("membership_id", &giulia.memberships[0].id.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "eleven hours in, the session still works");
    let set = r.header("set-cookie").expect("a new session cookie");
    c.cookie = Some(set.split(';').next().unwrap_or_default().to_string());
    assert_eq!(c.get("/home").await.status, StatusCode::OK);
    // The new session kept the sign-in time: making that time 13 hours old ends it.
    crate::support::sqlx_exec(
        app.svc.store(),
        &format!("UPDATE sessions SET created_at = '{}' WHERE created_at = '{eleven}'", ago(13)),
    )
    .await;
    let r = c.get("/home").await;
    assert!(r.status == StatusCode::SEE_OTHER && r.location().starts_with("/login"), "{}", r.status);
}

/// ASVS V2.1.1/2.1.2: 12 to 128 characters, anything goes.
#[tokio::test]
async fn passwords_are_twelve_to_128_characters_of_any_kind() {
    let app = TestApp::new().await;
    let admin = app.actor("admin").await;
    let org = app.org_id("SerD Zona 1-MS").await.to_string();
    let form = |name: &str, password: String| percorsi_domain::user::UserForm {
        username: name.into(),
        display_name: "Prova".into(),
        password,
        organisation_id: org.clone(),
        role: "operatore".into(),
    };
    for bad in ["undici-cara".to_string(), "x".repeat(129)] {
        let r = app.svc.create_user(&admin, &form("p-bad", bad.clone())).await;
        assert!(matches!(r, Err(percorsi_service::ServiceError::Invalid(ref i)) if i.has("password")), "{}", bad.len());
    }
    // 128 random characters (128 of one character would be refused as guessable, ASVS V2.1.7).
    let long: String =
        rand::RngExt::sample_iter(rand::rng(), &rand::distr::Alphanumeric).take(128).map(char::from).collect();
    for good in ["dodici-carat".to_string(), long, "🔐 una frase con spazi e accenti è ok".to_string()] {
        let name = format!("p{}", good.chars().count());
        app.svc.create_user(&admin, &form(&name, good)).await.unwrap();
    }
}

#[tokio::test]
async fn security_headers_restrict_forms_and_require_https_when_served_over_it() {
    let app = TestApp::new().await;
    let r = app.client().get("/login").await;
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("form-action 'self'") && csp.contains("base-uri 'none'"), "{csp}");
    assert!(r.header("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    let config = percorsi_web::WebConfig { secure_cookies: true, ..Default::default() };
    let secure = crate::support::Client::for_router(percorsi_web::router(app.svc.clone(), config));
    let hsts = secure.get("/login").await.header("strict-transport-security").expect("HSTS over HTTPS");
    assert!(hsts.contains("max-age=31536000"));
    // Over HTTPS the session cookie is `__Host-` prefixed and Secure, and it is the one read.
    let r =
        secure.post_raw("/login", &[("username", "luca"), ("password", percorsi_service::demo::DEMO_PASSWORD)]).await;
    let set = r.header("set-cookie").expect("session cookie");
    assert!(set.starts_with("__Host-percorsi_session=") && set.contains("; Secure") && set.contains("Path=/"), "{set}");
    let mut signed_in = secure.clone();
    signed_in.cookie = Some(set.split(';').next().unwrap_or_default().to_string());
    assert_eq!(signed_in.get("/home").await.status, StatusCode::OK);
}

/// ASVS V2.1.6 and V3.3.4: users change their own password (the current one required), which
/// ends their other sessions; they see their sessions and tokens and end them.
#[tokio::test]
async fn users_change_their_password_and_end_their_own_sessions_and_tokens() {
    let app = TestApp::new().await;
    let c = app.login("luca").await;
    let other = app.login("luca").await;
    let api = app.api_client("luca").await;
    let page = c.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("questa sessione") && page.body.contains("/account/sessioni/"));
    let r = c
        .post("/account/password", &[("current", "sbagliata-davvero"), ("password", "una-password-nuova-e-lunga")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("la password attuale non è corretta"));
    let r =
        c.post("/account/password", &[("current", percorsi_service::demo::DEMO_PASSWORD), ("password", "corta")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let new = "una-password-nuova-e-lunga";
    let r = c.post("/account/password", &[("current", percorsi_service::demo::DEMO_PASSWORD), ("password", new)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(c.get("/home").await.status, StatusCode::OK, "this session goes on");
    assert_ne!(other.get("/home").await.status, StatusCode::OK, "the other session ended");
    let r = app
        .client()
        .post_raw("/login", &[("username", "luca"), ("password", percorsi_service::demo::DEMO_PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the old password is gone");
    // A session on another computer, ended from the account page.
    let third = app.client().login_with("luca", new).await;
    let page = c.get("/account").await.body;
    let ids: Vec<String> = page
        .split("/account/sessioni/")
        .skip(1)
        .map(|p| p.chars().take_while(|ch| ch.is_ascii_hexdigit()).collect())
        .collect();
    assert_eq!(ids.len(), 1, "one other session listed with an end button");
    let r = c.post(&format!("/account/sessioni/{}/fine", ids[0]), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_ne!(third.get("/home").await.status, StatusCode::OK);
    // Someone else's session or token is not found.
    let anna = app.login("anna").await;
    let r = anna.post(&format!("/account/sessioni/{}/fine", ids[0]), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The user's own API token: listed and revoked.
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::OK);
    let page = c.get("/account").await.body;
    let token: String = page
        .split("/account/token/")
        .nth(1)
        .map(|p| p.chars().take_while(|ch| ch.is_ascii_digit()).collect())
        .expect("the token is listed");
    assert_eq!(anna.post(&format!("/account/token/{token}/revoca"), &[]).await.status, StatusCode::NOT_FOUND);
    let r = c.post(&format!("/account/token/{token}/revoca"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

/// The timing measurement of failed sign-ins runs and reports the three cases (its figures are
/// in docs/performance.md; no test depends on them).
#[tokio::test]
async fn the_sign_in_timing_benchmark_reports_unknown_disabled_and_wrong_password() {
    let app = TestApp::new().await;
    let out = app.cli().args(["bench-login", "--tries", "3"]).output().expect("percorsi runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for case in ["unknown username", "disabled account", "wrong password", "largest difference"] {
        assert!(text.contains(case), "{text}");
    }
}
