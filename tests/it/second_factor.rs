//! The second factor (ASVS V2.7/V2.8), re-authentication before sensitive actions (V3.7.1) and
//! the password rules (V2.1.7/V2.1.8), through HTTP as a browser uses them.

use crate::support::{extract, sqlx_exec, Client, TestApp};
use axum::http::StatusCode;
use percorsi_service::second_factor::DEFAULT_MFA_ROLES;
use totp_rs::{Algorithm, Secret, TOTP};

/// The installation as shipped: administrators, auditors and analysts need a second factor.
async fn app_with_mfa() -> TestApp {
    TestApp::new().await.with_mfa_roles(DEFAULT_MFA_ROLES.to_vec())
}

fn cookie_of(r: &crate::support::Resp) -> String {
    let set = r.header("set-cookie").expect("a new session cookie");
    set.split(';').next().unwrap_or_default().to_string()
}

/// Signs in with the password only; the client holds the session as it is after that step.
async fn password_step(app: &TestApp, username: &str) -> (Client, String) {
    let mut c = app.client();
    let r = c.post_raw("/login", &[("username", username), ("password", percorsi_service::demo::DEMO_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    c.cookie = Some(cookie_of(&r));
    let page = c.get("/login/codice").await;
    c.csrf = extract(&page.body, "name=\"_csrf\" value=\"", "\"");
    (c, r.location())
}

/// An authenticator app for `secret` (as shown on the enrolment page).
fn authenticator(secret: &str) -> TOTP {
    let bytes = Secret::Encoded(secret.replace(' ', "")).to_bytes().expect("base32 secret");
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).expect("totp")
}

fn code_at(app: &TOTP, offset_steps: i64) -> String {
    let now = chrono::Utc::now().timestamp() + offset_steps * 30;
    app.generate(now as u64)
}

/// Enrols `username` from their account page (the only page a session waiting for a required
/// enrolment reaches); returns the signed-in client (its session replaced when it was waiting),
/// the authenticator and the recovery codes.
async fn enrol(app: &TestApp, username: &str) -> (Client, TOTP, Vec<String>) {
    let (mut c, _) = password_step(app, username).await;
    let page = c.get("/account/mfa").await;
    c.csrf = extract(&page.body, "name=\"_csrf\" value=\"", "\"");
    let r = c.post("/account/mfa/inizia", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get("/account/mfa").await;
    assert!(page.body.contains("<svg"), "the QR code is drawn in the page");
    let secret = extract(&page.body, "<code id=\"totp-secret\">", "</code>").expect("the secret as text");
    let totp = authenticator(&secret);
    let wrong = c.post("/account/mfa/conferma", &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "a wrong code does not enrol");
    let r = c.post("/account/mfa/conferma", &[("code", &code_at(&totp, 0))]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = extract(&r.body, "id=\"recovery-codes\">", "</ul>").expect("recovery codes shown");
    let codes: Vec<String> =
        list.split("<code>").skip(1).filter_map(|s| s.split("</code>").next()).map(str::to_string).collect();
    assert_eq!(codes.len(), 10);
    if let Some(set) = r.header("set-cookie") {
        c.cookie = Some(set.split(';').next().unwrap_or_default().to_string());
    }
    c.refresh_csrf().await;
    (c, totp, codes)
}

#[tokio::test]
async fn asvs_2_7_administrators_enrol_a_second_factor_before_anything_else() {
    let app = app_with_mfa().await;
    let (c, to) = password_step(&app, "admin").await;
    assert_eq!(to, "/account/mfa?msg=mfa-needed");
    for path in ["/home", "/admin/utenti", "/ruolo", "/audit", "/account"] {
        let r = c.get(path).await;
        assert_eq!((r.status, r.location().as_str()), (StatusCode::SEE_OTHER, "/account/mfa"), "{path}");
    }
    // A case manager's role does not require one: signed in with the password alone.
    let (anna, to) = password_step(&app, "anna").await;
    assert_eq!(to, "/home");
    assert_eq!(anna.get("/home").await.status, StatusCode::OK);
    // Enrolled, the administrator works.
    let (admin, _, _) = enrol(&app, "admin").await;
    assert_eq!(admin.get("/admin/utenti").await.status, StatusCode::OK);
    // Another session still waiting for its enrolment reaches nothing else.
    assert_eq!(c.get("/admin/utenti").await.location(), "/account/mfa");
}

#[tokio::test]
async fn asvs_2_8_4_a_totp_code_signs_in_once_and_a_recovery_code_once() {
    let app = app_with_mfa().await;
    let (_, totp, codes) = enrol(&app, "auditor").await;
    // Signing in again asks the code after the password; nothing else is reachable meanwhile.
    let (c, to) = password_step(&app, "auditor").await;
    assert!(to.starts_with("/login/codice"), "{to}");
    assert_eq!(c.get("/audit").await.location(), "/login/codice");
    // The code used to enrol is spent: replaying it fails, the app's next one works.
    let replay = c.post("/login/codice", &[("code", &code_at(&totp, 0))]).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
    let ok = c.post("/login/codice", &[("code", &code_at(&totp, 1))]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let mut full = c.clone();
    full.cookie = Some(cookie_of(&ok));
    assert_eq!(full.get("/audit").await.status, StatusCode::OK);
    assert!(c.get("/audit").await.location().starts_with("/login?"), "the waiting session was replaced");
    // A recovery code works once, typed in capitals and with spaces too.
    let (c, _) = password_step(&app, "auditor").await;
    let typed = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(c.post("/login/codice", &[("code", &typed)]).await.status, StatusCode::SEE_OTHER);
    let (c, _) = password_step(&app, "auditor").await;
    assert_eq!(c.post("/login/codice", &[("code", &codes[0])]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.post("/login/codice", &[("code", &codes[1])]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn asvs_2_2_1_wrong_codes_are_throttled_not_locked() {
    let app = app_with_mfa().await;
    let (_, totp, _) = enrol(&app, "analista").await;
    let (c, _) = password_step(&app, "analista").await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(c.post("/login/codice", &[("code", "123456")]).await.status);
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[6], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let r = c.post("/login/codice", &[("code", &code_at(&totp, 1))]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "even the right code waits");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn an_organisation_can_ask_a_second_factor_of_every_role_and_an_administrator_can_reset_one() {
    let app = app_with_mfa().await;
    let (admin, _, _) = enrol(&app, "admin").await;
    let anna = app.actor("anna").await;
    let r = admin
        .post(
            &format!("/admin/enti/{}/accesso", anna.organisation_id),
            &[("mfa_required", "true"), ("password_login", "true")],
        )
        .await;
    assert_eq!(r.location(), format!("/admin/enti/{}?msg=saved", anna.organisation_id), "{}", r.body);
    let (_, to) = password_step(&app, "anna").await;
    assert_eq!(to, "/account/mfa?msg=mfa-needed");
    let (anna_client, _, _) = enrol(&app, "anna").await;
    assert_eq!(anna_client.get("/home").await.status, StatusCode::OK);
    // Phone and codes lost: the administrator resets it; her sessions end.
    let r = admin.post(&format!("/admin/utenti/{}/secondo-fattore/azzera", anna.user_id), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(anna_client.get("/home").await.location(), "/login?next=%2Fhome");
    let (_, to) = password_step(&app, "anna").await;
    assert_eq!(to, "/account/mfa?msg=mfa-needed", "she enrols again");
    // Where it is not required, the user may turn it off (after confirming it is them).
    let r = admin.post(&format!("/admin/enti/{}/accesso", anna.organisation_id), &[("password_login", "true")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let (anna_client, _, _) = enrol(&app, "anna").await;
    assert_eq!(anna_client.post("/account/mfa/rimuovi", &[]).await.location(), "/account/mfa?msg=mfa-removed");
    let r = admin.post("/account/mfa/rimuovi", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "an administrator cannot turn it off");
}

#[tokio::test]
async fn asvs_3_7_1_sensitive_actions_ask_who_you_are_when_the_sign_in_is_not_recent() {
    let app = TestApp::new().await;
    let admin = app.login("admin").await;
    let luca = app.actor("luca").await;
    let grant = [("organisation_id", "1"), ("role", "analista")];
    let path = format!("/admin/utenti/{}/ruoli", luca.user_id);
    // Just signed in: allowed.
    assert_eq!(admin.post(&path, &grant).await.status, StatusCode::SEE_OTHER);
    // Eleven minutes later, the same action asks for the password first.
    let old = (chrono::Utc::now() - chrono::Duration::minutes(11)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx_exec(app.svc.store(), &format!("UPDATE sessions SET authenticated_at = '{old}'")).await;
    let grant2 = [("organisation_id", "2"), ("role", "analista")];
    let home = admin.get("/admin/utenti").await;
    assert_eq!(home.status, StatusCode::OK, "{} {}", home.location(), home.body);
    let r = admin.post(&path, &grant2).await;
    assert_eq!((r.status, r.location().as_str()), (StatusCode::SEE_OTHER, "/conferma"));
    let form = admin.get(&format!("/conferma?next=/admin/utenti/{}", luca.user_id)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("name=\"next\" value=\"/admin/utenti/"), "returns to the page");
    let wrong = admin.post("/conferma", &[("password", "non-la-mia-password"), ("next", "/admin/utenti")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = admin
        .post("/conferma", &[("password", percorsi_service::demo::DEMO_PASSWORD), ("next", "/admin/utenti")])
        .await;
    assert_eq!(ok.location(), "/admin/utenti?msg=reauthenticated");
    assert_eq!(admin.post(&path, &grant2).await.location(), format!("/admin/utenti/{}?msg=saved", luca.user_id));
    // Break-the-glass and the analyst's extract ask the same.
    let anna = app.login("anna").await;
    let analyst = app.login("analista").await;
    sqlx_exec(app.svc.store(), &format!("UPDATE sessions SET authenticated_at = '{old}'")).await;
    let r = anna
        .post("/persone/emergenza", &[("code", "XXXXXXXXXXXXXXXX"), ("reason", "pronto soccorso, persona incosciente")])
        .await;
    assert_eq!(r.location(), "/conferma");
    let programme = app.svc.programmes(&app.actor("analista").await).await.expect("programmes")[0].id;
    let r = analyst.get(&format!("/report/estratto?programme_id={programme}")).await;
    assert_eq!(r.location(), "/conferma", "{}", r.body);
    // An API token presents its secret on every request: not asked.
    let api = app.api_client("admin").await;
    let r = api
        .json(
            "POST",
            &format!("/api/v1/users/{}/roles", luca.user_id),
            serde_json::json!({"organisation_id": "3", "role": "analista"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn asvs_2_1_7_common_passwords_are_refused_and_2_1_8_strength_is_shown_while_typing() {
    let app = TestApp::new().await;
    let c = app.login("anna").await;
    let r = c
        .post(
            "/account/password",
            &[("current", percorsi_service::demo::DEMO_PASSWORD), ("password", "Password123456")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("tra le password comuni"), "{}", r.body);
    let weak = c.post("/password/robustezza", &[("password", "iloveyou1234567")]).await;
    assert!(weak.body.contains("value=\"1\"") && weak.body.contains("error"), "{}", weak.body);
    let strong = c.post("/password/robustezza", &[("password", "cavallo batteria graffetta")]).await;
    assert!(strong.body.contains("value=\"4\"") && !strong.body.contains("error"), "{}", strong.body);
    // The meter is on every form that sets a password.
    let account = c.get("/account").await.body;
    assert!(account.contains("hx-post=\"/password/robustezza\""), "{account}");
    assert_eq!(app.client().post_raw("/password/robustezza", &[("password", "x")]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_organisation_that_signs_in_only_through_its_provider_refuses_local_passwords() {
    let app = TestApp::new().await;
    let admin = app.login("admin").await;
    let anna = app.actor("anna").await;
    let luca = app.login("luca").await;
    let r = admin.post(&format!("/admin/enti/{}/accesso", anna.organisation_id), &[]).await;
    assert_eq!(r.location(), format!("/admin/enti/{}?msg=saved", anna.organisation_id));
    let mut c = app.client();
    let r = c.post_raw("/login", &[("username", "anna"), ("password", percorsi_service::demo::DEMO_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("solo con il login unico"), "{}", r.body);
    c.cookie = r.header("set-cookie");
    assert!(c.cookie.is_none(), "no session is given");
    // Other organisations are not affected.
    assert_eq!(luca.get("/home").await.status, StatusCode::OK);
}

/// The last administrator lost phone and recovery codes: the operator removes the factor from
/// the command line, the sessions end, and the administrator enrols again.
#[tokio::test]
async fn the_operator_resets_a_lost_second_factor_from_the_command_line() {
    let app = app_with_mfa().await;
    let (admin, _, _) = enrol(&app, "admin").await;
    assert_eq!(admin.get("/admin/utenti").await.status, StatusCode::OK);
    let out = app.cli().args(["user", "reset-second-factor", "admin"]).output().expect("run percorsi");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(admin.get("/admin/utenti").await.location().starts_with("/login"), "their sessions ended");
    let (_, to) = password_step(&app, "admin").await;
    assert_eq!(to, "/account/mfa?msg=mfa-needed", "enrols again");
    let out = app.cli().args(["user", "reset-second-factor", "nessuno"]).output().expect("run percorsi");
    assert!(!out.status.success(), "an unknown user is an error");
}

/// ASVS V2.8.4 under a race: one code sent at the same moment by two sessions waiting for it,
/// on two app servers, signs in once; the other gets the "already used" answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_raced_on_two_servers_signs_in_once() {
    let app = app_with_mfa().await;
    let second = app.second_server().await;
    let (_, totp, _) = enrol(&app, "auditor").await;
    let (a, _) = password_step(&app, "auditor").await;
    let (b, _) = password_step(&second, "auditor").await;
    let code = code_at(&totp, 1);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let handles: Vec<_> = [a, b]
        .into_iter()
        .map(|c| {
            let (barrier, code) = (barrier.clone(), code.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                c.post("/login/codice", &[("code", &code)]).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.expect("request"));
    }
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::SEE_OTHER, StatusCode::UNAUTHORIZED], "{statuses:?}");
}
