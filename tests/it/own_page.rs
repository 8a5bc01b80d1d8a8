//! The person's own page: an invitation handed over by the organisation in charge becomes an
//! account that sees the person's project, consents and accesses and nothing of anyone else's;
//! revoking a consent takes the organisation's access away at once and tells it; the
//! self-assessment reaches the case manager.

use crate::support::{extract, TestApp};
use axum::http::StatusCode;

const PASSWORD: &str = "Una password lunga 2026!";

/// A person of Anna's with a project, and a consent for Sara's organisation to see them.
pub(crate) async fn person_with_project_and_consent(app: &TestApp) -> (i64, i64) {
    let anna = app.actor("anna").await;
    let sara = app.actor("sara").await;
    let mut person = None;
    for p in app.svc.followed(&anna).await.expect("followed") {
        if !app.svc.projects_of_person(&anna, p.id).await.expect("projects").is_empty() {
            person = Some(p.id);
            break;
        }
    }
    let person = person.expect("a demo person with a project");
    let consent = percorsi_domain::consent::ConsentForm {
        organisation_id: sara.organisation_id.to_string(),
        purpose: "presa_in_carico_condivisa".into(),
        start_date: "2026-01-01".into(),
        expiry_date: String::new(),
    };
    let consent = app.svc.record_consent(&anna, person, &consent).await.expect("consent");
    (person, consent)
}

#[tokio::test]
async fn an_invited_person_sees_their_page_and_revoking_a_consent_takes_access_away() {
    let app = TestApp::new().await;
    let (person, consent) = person_with_project_and_consent(&app).await;
    let anna = app.login("anna").await;

    // Only the organisation in charge invites; the code is shown once.
    for user in ["sara", "coordinatore", "admin"] {
        let r = app.login(user).await.post(&format!("/persone/{person}/invito"), &[]).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{user}: {}", r.status);
    }
    let page = anna.get(&format!("/persone/{person}")).await;
    assert!(page.body.contains("Crea un codice di invito"), "the person page offers the invitation");
    let r = anna.post(&format!("/persone/{person}/invito"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = extract(&r.body, "id=\"invitation-code\">", "<").expect("the code on the page");
    assert_eq!(code.len(), 14, "{code}");

    // Accepting it: a wrong code, a weak password, then the real thing, once.
    let visitor = app.client();
    let accept = |code: String, username: &'static str, password: &'static str| {
        let visitor = visitor.clone();
        async move {
            visitor
                .post_raw("/invito", &[("invitation_code", &code), ("username", username), ("password", password)])
                .await
        }
    };
    let r = accept("AAAA-BBBB-CCCC".into(), "mario.invitato", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("il codice non funziona"), "{}", r.body);
    let r = accept(code.clone(), "mario.invitato", "corta").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("f-password") && r.body.contains("value=\"mario.invitato\""), "username kept");
    // Typed in lower case and without dashes, as people do.
    let typed = code.replace('-', " ").to_lowercase();
    let r = accept(typed, "mario.invitato", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().contains("invitation-accepted"));
    let r = accept(code.clone(), "altro.nome", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a code works once");
    let r = anna.post(&format!("/persone/{person}/invito"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "the person has an account already");

    // The person's page: their project and consents, and only their own things.
    let me = app.client().login_with("mario.invitato", PASSWORD).await;
    let home = me.get("/home").await;
    assert_eq!(home.location(), "/io");
    let own = me.get("/io").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    for text in [
        "Il mio progetto",
        "Progetto con",
        "I miei consensi",
        "Chi ha consultato la mia scheda",
        "Revoca questo consenso",
    ] {
        assert!(own.body.contains(text), "{text}");
    }
    for (path, what) in [
        ("/persone", "people"),
        (&format!("/persone/{person}") as &str, "their record as staff see it"),
        ("/report", "reports"),
    ] {
        let r = me.get(path).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{what}: {}", r.status);
    }
    let users = app.login("admin").await.get("/admin/utenti").await;
    assert!(!users.body.contains("mario.invitato"), "administrators do not learn who is in care");

    // Revoking Sara's organisation's consent: it loses the person at once and is told.
    let sara = app.api_client("sara").await;
    assert_eq!(sara.get(&format!("/api/v1/persons/{person}")).await.status, StatusCode::OK);
    let r = me.post(&format!("/io/consensi/{consent}/revoca"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(sara.get(&format!("/api/v1/persons/{person}")).await.status, StatusCode::NOT_FOUND);
    let notes = app.login("sara").await.get("/notifiche").await;
    assert!(notes.body.contains("revocato"), "Sara's organisation is told: {}", notes.body);
    let r = me.post(&format!("/io/consensi/{consent}/revoca"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Someone else's consent is not theirs to revoke.
    let other_person = app
        .svc
        .followed(&app.actor("anna").await)
        .await
        .expect("followed")
        .into_iter()
        .find(|p| p.id != person)
        .expect("another person")
        .id;
    let other = percorsi_domain::consent::ConsentForm {
        organisation_id: app.actor("sara").await.organisation_id.to_string(),
        purpose: "monitoraggio_esiti".into(),
        start_date: "2026-01-01".into(),
        expiry_date: String::new(),
    };
    let other = app.svc.record_consent(&app.actor("anna").await, other_person, &other).await.expect("consent");
    assert_eq!(me.post(&format!("/io/consensi/{other}/revoca"), &[]).await.status, StatusCode::NOT_FOUND);

    // The self-assessment reaches the case manager, next to the team's assessment.
    let r = me.post("/io/autovalutazione", &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty one is refused");
    let r = me.post("/io/autovalutazione", &[("casa_stabilita", "3"), ("lavoro_competenze", "2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let staff_view = anna.get(&format!("/persone/{person}")).await;
    assert!(staff_view.body.contains("Autovalutazione della persona"));

    // The organisation in charge switches the access off: the session ends.
    let r = anna.post(&format!("/persone/{person}/accesso-persona"), &[("active", "false")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = me.get("/io").await;
    assert_ne!(r.status, StatusCode::OK, "signed out");
    let r = app.client().post_raw("/login", &[("username", "mario.invitato"), ("password", PASSWORD)]).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "cannot sign in again");
}
