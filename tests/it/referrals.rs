//! Referrals through HTTP: sending shares nothing; acceptance needs the person's consent for
//! the receiving organisation; decisions notify the sender; declining needs a reason.

use crate::support::TestApp;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_referral_is_accepted_only_under_a_recorded_consent() {
    let app = TestApp::new().await;
    let person = app.named_person("anna").await.id;
    let faro = app.org_id("Il Faro").await;
    let anna = app.api_client("anna").await;
    let sara = app.api_client("sara").await;
    // Sara's organisation does not see the person before anything happens.
    if sara.get(&format!("/api/v1/persons/{person}")).await.status == StatusCode::OK {
        panic!("the demo gives Il Faro no ground on Anna's person");
    }
    let r = anna
        .json("POST", &format!("/api/v1/persons/{person}/referrals"), json!({"to_organisation_id": faro.to_string(), "urgency": "urgente", "support": "inserimento_abitativo", "reason": "Sfratto imminente"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");

    // Sara's triage list shows the code, the reason and the urgency — not the identity.
    let list = sara.get("/api/v1/referrals").await;
    assert!(list.body.contains("Sfratto imminente") && list.body.contains("\"urgente\""), "{}", list.body);
    assert!(!list.body.contains("surname"), "no identity in the triage list");
    let notes = sara.get("/api/v1/notifications").await.json();
    assert!(notes.as_array().is_some_and(|n| n.iter().any(|x| x["message"] == "notif-referral-received")));

    // The triage page offers "accept" only once it can work, and says what is missing.
    let page = app.login("sara").await.get("/segnalazioni").await;
    assert!(page.body.contains(&format!("id=\"needs-consent-{id}\"")), "the missing consent is said");
    let form = page
        .body
        .split(&format!("/segnalazioni/{id}/esito"))
        .nth(1)
        .and_then(|f| f.split("</form>").next())
        .expect("the decision form");
    assert!(!form.contains("value=\"accettata\""), "no accept button without consent");

    // Accepting needs the consent; declining needs a reason.
    let r = sara.json("POST", &format!("/api/v1/referrals/{id}/decision"), json!({"decision": "accettata"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("err-referral-needs-consent"), "{}", r.body);
    let r = sara.json("POST", &format!("/api/v1/referrals/{id}/decision"), json!({"decision": "rifiutata"})).await;
    assert!(r.body.contains("err-decline-needs-reason"), "{}", r.body);

    // Anna records the person's consent for Il Faro: Sara accepts and now sees the pathway.
    let today = percorsi_service::today();
    let consent = json!({"organisation_id": faro.to_string(), "purpose": "presa_in_carico_condivisa",
                         "start_date": today.format("%Y-%m-%d").to_string(),
                         "expiry_date": (today + chrono::Duration::days(365)).format("%Y-%m-%d").to_string()});
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/consents"), consent).await;
    assert!(r.status.is_success(), "{}", r.body);
    let page = app.login("sara").await.get("/segnalazioni").await;
    let form = page
        .body
        .split(&format!("/segnalazioni/{id}/esito"))
        .nth(1)
        .and_then(|f| f.split("</form>").next())
        .expect("the decision form");
    assert!(form.contains("value=\"accettata\""), "accept is offered once the consent is recorded");
    let r = sara.json("POST", &format!("/api/v1/referrals/{id}/decision"), json!({"decision": "accettata"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(sara.get(&format!("/api/v1/persons/{person}")).await.status, StatusCode::OK);
    let again = sara.json("POST", &format!("/api/v1/referrals/{id}/decision"), json!({"decision": "accettata"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let notes = anna.get("/api/v1/notifications").await.json();
    assert!(notes.as_array().is_some_and(|n| n.iter().any(|x| x["message"] == "notif-referral-accepted")));

    // Pages: the triage list and the notifications read in Italian.
    let page = app.login("anna").await;
    assert!(page.get("/segnalazioni").await.body.contains("Sfratto imminente"));
    let notifications = page.get("/notifiche").await.body;
    assert!(notifications.contains("ha accettato la segnalazione"), "{notifications}");
    // Luca, in another organisation, cannot refer a person he does not see, nor decide it.
    let luca = app.api_client("luca").await;
    let r = luca
        .json(
            "POST",
            &format!("/api/v1/persons/{person}/referrals"),
            json!({"to_organisation_id": faro.to_string(), "urgency": "ordinaria", "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        luca.json("POST", &format!("/api/v1/referrals/{id}/decision"), json!({"decision": "rifiutata", "reason": "x"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// The working day's pages say where one is: the menu marks the section of the page shown;
/// the referral list names its reason column for what it is.
#[tokio::test]
async fn the_menu_marks_the_current_section_and_referrals_name_their_reason() {
    let app = TestApp::new().await;
    let anna = app.login("anna").await;
    let person = app.svc.followed(&app.actor("anna").await).await.expect("followed")[0].id;
    let page = anna.get(&format!("/persone/{person}")).await;
    assert!(page.body.contains(r#"<a href="/persone" aria-current="page">"#), "the People entry is current");
    assert!(!page.body.contains(r#"<a href="/home" aria-current="page">"#));
    let new = anna.get("/persone/nuova").await;
    assert!(new.body.contains(r#"<a href="/persone/nuova" aria-current="page">"#));
    assert!(!new.body.contains(r#"<a href="/persone" aria-current="page">"#), "only the closest entry");
    let referrals = anna.get("/segnalazioni").await;
    assert!(referrals.body.contains("Motivo della segnalazione"), "{}", referrals.body);
    assert!(!referrals.body.contains("Motivo della modifica"));
}
