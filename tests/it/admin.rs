use crate::support::{id_from_location, TestApp};
use axum::http::StatusCode;

#[tokio::test]
async fn organisations_are_created_and_validated() {
    let app = TestApp::new().await;
    let c = app.login("admin").await;
    let r = c.post("/admin/enti", &[("name", "Ospedale X"), ("kind", "ospedale")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Tipo di ente: «ospedale» non è tra i valori ammessi"), "unknown kind named");
    let r = c.post("/admin/enti", &[("name", "SerD Zona 1-MS"), ("kind", "ausl_serd")]).await;
    assert!(r.body.contains("Nome: è già in uso"), "duplicate name");
    let parent = app.org_id("Azienda USL").await.to_string();
    let r = c
        .post(
            "/admin/enti",
            &[("name", "SerD Zona 2-LU"), ("kind", "ausl_serd"), ("parent_id", &parent), ("territory", "2-LU")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let list = c.get("/admin/enti").await.body;
    assert!(list.contains("SerD Zona 2-LU") && list.contains("2-LU"));
    // An organisation cannot become its own ancestor.
    let child = app.org_id("SerD Zona 2-LU").await;
    let r = c
        .post(
            &format!("/admin/enti/{parent}"),
            &[
                ("name", "Azienda USL Toscana nord ovest"),
                ("kind", "ausl_serd"),
                ("parent_id", &child.to_string()),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("non può appartenere a se stesso"));
}

#[tokio::test]
async fn users_are_created_granted_and_disabled() {
    let app = TestApp::new().await;
    let c = app.login("admin").await;
    let org = app.org_id("Cooperativa sociale La Rete").await.to_string();
    let r = c
        .post(
            "/admin/utenti",
            &[
                ("username", "anna"),
                ("display_name", "Altra Anna"),
                ("password", "long-enough-pw"),
                ("organisation_id", &org),
                ("role", "operatore"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Nome utente: è già in uso"), "duplicate username");
    assert!(!r.body.contains("long-enough-pw"), "passwords are never echoed");
    let r = c
        .post(
            "/admin/utenti",
            &[
                ("username", "ugo"),
                ("display_name", "Ugo Tosi"),
                ("password", "short"),
                ("organisation_id", &org),
                ("role", "operatore"),
            ],
        )
        .await;
    assert!(r.body.contains("Password: deve avere almeno 12 caratteri"));
    let r = c
        .post(
            "/admin/utenti",
            &[
                ("username", "ugo"),
                ("display_name", "Ugo Tosi"),
                ("password", "long-enough-pw"),
                ("organisation_id", &org),
                ("role", "operatore"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let ugo_id = id_from_location(&r.location());

    let ugo = app.client();
    let r = ugo.post_raw("/login", &[("username", "ugo"), ("password", "long-enough-pw")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let mut ugo = app.client();
    ugo.cookie = Some(cookie);
    assert_eq!(ugo.get("/home").await.status, StatusCode::OK);

    let serd = app.org_id("SerD Zona 1-MS").await.to_string();
    let r = c.post(&format!("/admin/utenti/{ugo_id}/ruoli"), &[("organisation_id", &serd), ("role", "capo")]).await;
    assert!(r.body.contains("Ruolo: «capo» non è tra i valori ammessi"));
    let r =
        c.post(&format!("/admin/utenti/{ugo_id}/ruoli"), &[("organisation_id", &serd), ("role", "case_manager")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(c.get(&format!("/admin/utenti/{ugo_id}")).await.body.contains("SerD Zona 1-MS"));

    let r = c.post(&format!("/admin/utenti/{ugo_id}/stato"), &[("active", "false")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(ugo.get("/home").await.status, StatusCode::SEE_OTHER, "a disabled user's session ends at once");
    let r = app.client().post_raw("/login", &[("username", "ugo"), ("password", "long-enough-pw")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cli_user_commands_validate_and_work() {
    let app = TestApp::new().await;
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = app
            .cli()
            .args(["--lang", "en"])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run percorsi");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write");
        let out = child.wait_with_output().expect("wait");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let org = app.org_id("Officine").await.to_string();
    let (code, _, err) = run(
        &["user", "add", "--username", "Bad Name", "--name", "X", "--org", &org, "--role", "boss", "--password-stdin"],
        "short\n",
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("Username (username)") && err.contains("Role (role)") && err.contains("Password (password)"),
        "{err}"
    );
    let (code, out, err) = run(
        &[
            "user",
            "add",
            "--username",
            "tutor2",
            "--name",
            "Tina Tutor",
            "--org",
            &org,
            "--role",
            "tutor_aziendale",
            "--password-stdin",
        ],
        "a-good-password\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("user tutor2 created"));
    let (_, out, _) = run(&["user", "list"], "");
    assert!(out.contains("tutor2") && out.contains("tutor_aziendale@Officine Apuane srl"));
    let (code, _, _) = run(&["user", "disable", "tutor2"], "");
    assert_eq!(code, Some(0));
    assert_eq!(
        app.client().post_raw("/login", &[("username", "tutor2"), ("password", "a-good-password")]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (code, _, _) = run(&["user", "enable", "tutor2"], "");
    assert_eq!(code, Some(0));
    let (code, _, _) = run(&["user", "set-password", "tutor2", "--password-stdin"], "another-good-one\n");
    assert_eq!(code, Some(0));
    assert_eq!(
        app.client().post_raw("/login", &[("username", "tutor2"), ("password", "another-good-one")]).await.status,
        StatusCode::SEE_OTHER
    );
    // API tokens: create, use, list, revoke.
    let (code, token, _) = run(&["token", "create", "--user", "anna", "--name", "cartella SerD"], "");
    assert_eq!(code, Some(0));
    let mut api = app.client();
    api.bearer = Some(token.trim().to_string());
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::OK);
    let (_, list, _) = run(&["token", "list"], "");
    let line = list.lines().find(|l| l.contains("cartella SerD")).expect("listed");
    assert!(!line.contains(token.trim()), "secrets are never listed");
    // 90 days from creation (created a moment ago: today's date, or yesterday's past midnight).
    let expected = |back: i64| (chrono::Utc::now() + chrono::Duration::days(90 - back)).format("%Y-%m-%d").to_string();
    assert!(
        [0, 1].iter().any(|b| line.contains(&format!("expires {}", expected(*b)))),
        "tokens expire by default (90 days): {line}"
    );
    let (code, _, err) = run(&["token", "create", "--user", "anna", "--name", "x", "--days", "400"], "");
    assert_eq!(code, Some(2), "at most a year: {err}");
    let id = line.split_whitespace().next().unwrap().to_string();
    let (code, _, _) = run(&["token", "revoke", &id], "");
    assert_eq!(code, Some(0));
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "revoked at once");
    let (_, list, _) = run(&["token", "list"], "");
    assert!(list.contains("revoked"));

    let (code, _, err) = run(&["user", "disable", "nobody"], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("does not exist"), "{err}");
}
