use crate::support::{id_from_location, TestApp};
use axum::http::StatusCode;

#[tokio::test]
async fn consent_grants_access_and_revocation_ends_it_at_once() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let social = app.org_id("Servizio sociale").await.to_string();
    let c = app.login("anna").await;
    let r = c
        .post(
            "/persone",
            &[
                ("surname", "Marini"),
                ("name", "Luisa"),
                ("birth_date", "1988-08-08"),
                ("sex", "F"),
                ("start_date", "2026-03-01"),
                ("case_manager_id", &anna.user_id.to_string()),
            ],
        )
        .await;
    let id = id_from_location(&r.location());
    let paola = app.login("paola").await;
    assert_eq!(paola.get(&format!("/persone/{id}")).await.status, StatusCode::NOT_FOUND);

    let r = c
        .post(
            &format!("/persone/{id}/consensi"),
            &[
                ("organisation_id", &social),
                ("purpose", "progetto_personalizzato"),
                ("start_date", "2026-03-01"),
                ("expiry_date", "2026-02-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Scadenza: non può essere precedente alla data di inizio"));

    let r = c
        .post(
            &format!("/persone/{id}/consensi"),
            &[("organisation_id", &social), ("purpose", "progetto_personalizzato"), ("start_date", "2026-03-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = paola.get(&format!("/persone/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "the consent covers the social service");
    assert!(page.body.contains("Marini Luisa"));

    let p = app.svc.pathway(&anna, id).await.unwrap();
    let consent = p.consents[0].id;
    let r = c.post(&format!("/persone/{id}/consensi/{consent}/revoca"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        paola.get(&format!("/persone/{id}")).await.status,
        StatusCode::NOT_FOUND,
        "revocation takes effect at once"
    );
    let page = c.get(&format!("/persone/{id}")).await.body;
    assert!(page.contains("revocato il"));
    assert!(page.contains("Consenso revocato"), "timeline records the revocation");
}

#[tokio::test]
async fn expired_or_future_consent_grants_nothing() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let cpi = app.org_id("Centro per l'impiego").await.to_string();
    let c = app.login("anna").await;
    let r = c
        .post(
            "/persone",
            &[
                ("surname", "Pace"),
                ("name", "Mario"),
                ("birth_date", "1969-01-09"),
                ("sex", "M"),
                ("start_date", "2025-01-01"),
                ("case_manager_id", &anna.user_id.to_string()),
            ],
        )
        .await;
    let id = id_from_location(&r.location());
    c.post(
        &format!("/persone/{id}/consensi"),
        &[
            ("organisation_id", &cpi),
            ("purpose", "inserimento_lavorativo"),
            ("start_date", "2025-01-01"),
            ("expiry_date", "2025-06-30"),
        ],
    )
    .await;
    c.post(
        &format!("/persone/{id}/consensi"),
        &[("organisation_id", &cpi), ("purpose", "inserimento_lavorativo"), ("start_date", "2099-01-01")],
    )
    .await;
    assert_eq!(app.svc.pathway(&anna, id).await.unwrap().consents.len(), 2);
    let marco = app.login("marco").await;
    assert_eq!(marco.get(&format!("/persone/{id}")).await.status, StatusCode::NOT_FOUND);
}
