use crate::support::TestApp;
use axum::http::StatusCode;
use serde_json::json;

fn registration(cm: i64, surname: &str) -> serde_json::Value {
    json!({
        "person": {"surname": surname, "name": "Carla", "birth_date": "1983-05-20", "sex": "F", "education": "media_superiore"},
        "episode": {"start_date": "2026-02-10", "case_manager_id": cm.to_string(), "substance_start": "cocaina", "treatment_in_progress": true}
    })
}

#[tokio::test]
async fn token_is_required_and_checked() {
    let app = TestApp::new().await;
    let r = app.client().get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "unauthenticated");
    let mut c = app.client();
    c.bearer = Some("pct_0000".into());
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    let c = app.api_client("anna").await;
    let me = c.get("/api/v1/me").await.json();
    assert_eq!(me["username"], "anna");
    assert_eq!(me["role"], "case_manager");
    // A session cookie is not an API credential.
    let browser = app.login("anna").await;
    assert_eq!(browser.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn register_read_and_consent_through_the_api() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let c = app.api_client("anna").await;
    let r = c.json("POST", "/api/v1/persons", registration(anna.user_id, "Greco")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let body = r.json();
    assert_eq!(body["outcome"], "created");
    let id = body["person_id"].as_i64().unwrap();
    assert!(percorsi_domain::pseudonym::is_code(body["code"].as_str().unwrap()));

    let p = c.get(&format!("/api/v1/persons/{id}")).await.json();
    assert_eq!(p["identity"]["surname"], "Greco");
    assert_eq!(p["episodes"][0]["substance_start"], "cocaina");
    assert_eq!(p["episodes"][0]["treatment_in_progress"], true);

    // Same person from another organisation: known elsewhere, nothing revealed.
    let sara = app.actor("sara").await;
    let s = app.api_client("sara").await;
    let r = s.json("POST", "/api/v1/persons", registration(sara.user_id, "Greco")).await;
    assert_eq!(r.status, StatusCode::OK);
    let known = r.json();
    assert_eq!(known["outcome"], "known_elsewhere");
    assert!(known.get("person_id").is_none());

    let social = app.org_id("Servizio sociale").await;
    let r = c.json("POST", &format!("/api/v1/persons/{id}/consents"), json!({"organisation_id": social.to_string(), "purpose": "progetto_personalizzato", "start_date": "2026-02-10"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let consent = r.json()["id"].as_i64().unwrap();
    let paola = app.api_client("paola").await;
    assert_eq!(paola.get(&format!("/api/v1/persons/{id}")).await.status, StatusCode::OK);
    let r = c.json("POST", &format!("/api/v1/persons/{id}/consents/{consent}/revoke"), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(paola.get(&format!("/api/v1/persons/{id}")).await.status, StatusCode::NOT_FOUND);

    let ep = p["episodes"][0]["id"].as_i64().unwrap();
    let r = c
        .json(
            "PATCH",
            &format!("/api/v1/episodes/{ep}"),
            json!({"substance_current": "alcol", "treatment_in_progress": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let p2 = c.get(&format!("/api/v1/persons/{id}")).await.json();
    assert_eq!(p2["episodes"][0]["substance_current"], "alcol");
    let r = c
        .json(
            "POST",
            &format!("/api/v1/episodes/{ep}/close"),
            json!({"end_date": "2026-01-01", "closure": "abbandono"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["fields"][0]["key"], "err-end-before-start");
    let r = c
        .json(
            "POST",
            &format!("/api/v1/episodes/{ep}/close"),
            json!({"end_date": "2026-02-20", "closure": "abbandono"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bad_input_gets_field_errors_in_english_or_italian() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let c = app.api_client("anna").await;
    let mut body = registration(anna.user_id, "Longo");
    body["person"]["fiscal_code"] = json!("LNGCRL83E60F023A");
    body["person"]["sex"] = json!("X");
    let r = c.json("POST", "/api/v1/persons", body.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = r.json();
    assert_eq!(e["error"]["code"], "invalid_input");
    let fields: Vec<&str> =
        e["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"sex"), "{e}");
    let sex = e["error"]["fields"].as_array().unwrap().iter().find(|f| f["field"] == "sex").unwrap();
    assert_eq!(sex["message"], "Sex: \"X\" is not one of the allowed values.");

    let mut it = c.clone();
    it.lang = Some("it");
    let r = it.json("POST", "/api/v1/persons", body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Sesso: «X» non è tra i valori ammessi"), "Accept-Language: it gives Italian messages");

    let r = c.json("POST", "/api/v1/persons", json!("not an object")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["code"], "malformed_body");

    let raw = c.clone();
    let r = raw.json("POST", "/api/v1/organisations", json!({"name": "X", "kind": "ospedale"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a case manager cannot create organisations");
    let admin = app.api_client("admin").await;
    let r = admin.json("POST", "/api/v1/organisations", json!({"name": "X", "kind": "ospedale"})).await;
    assert_eq!(r.json()["error"]["fields"][0]["field"], "kind");
    let r = admin.json("POST", "/api/v1/users", json!({"username": "anna", "display_name": "A", "password": "long-enough-pw", "organisation_id": "1", "role": "operatore"})).await;
    assert_eq!(r.json()["error"]["fields"][0]["key"], "err-duplicate");
    let r = admin.json("POST", "/api/v1/users", json!({"username": "nuovo", "display_name": "Nuovo Utente", "password": "long-enough-pw", "organisation_id": "1", "role": "operatore"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let uid = r.json()["id"].as_i64().unwrap();
    let r = admin
        .json("POST", &format!("/api/v1/users/{uid}/roles"), json!({"organisation_id": "1", "role": "capo"}))
        .await;
    assert_eq!(r.json()["error"]["fields"][0]["field"], "role");
    let r = admin
        .json("POST", &format!("/api/v1/users/{uid}/roles"), json!({"organisation_id": "2", "role": "coordinatore"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = admin.json("PUT", &format!("/api/v1/users/{uid}/active"), json!({"active": false})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let users = admin.get("/api/v1/users").await.json();
    let nuovo = users.as_array().unwrap().iter().find(|u| u["user"]["username"] == "nuovo").unwrap();
    assert_eq!(nuovo["user"]["active"], false);
    assert_eq!(nuovo["memberships"].as_array().unwrap().len(), 2);
    assert!(nuovo["user"].get("password_hash").is_none(), "hashes never leave the server");
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_cleanly() {
    let app = TestApp::new().await;
    let c = app.api_client("anna").await;
    let before = app_persons(&app).await;
    let r = c.send_raw_json("/api/v1/persons", "{\"person\": ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["code"], "malformed_body");
    let huge = format!("{{\"person\": {{\"surname\": \"{}\"}}}}", "x".repeat(400 * 1024));
    let r = c.send_raw_json("/api/v1/persons", &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app_persons(&app).await, before, "nothing was written");
}

async fn app_persons(app: &TestApp) -> i64 {
    app.svc.store().write().await.unwrap().count_persons().await.unwrap()
}

#[tokio::test]
async fn openapi_document_describes_the_api() {
    let app = TestApp::new().await;
    let doc = app.client().get("/api/v1/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/persons",
        "/api/v1/persons/{id}",
        "/api/v1/persons/{id}/consents",
        "/api/v1/episodes/{id}/close",
        "/api/v1/audit/verify",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(doc["components"]["schemas"].get("PersonForm").is_some());
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());
}

#[tokio::test]
async fn patch_changes_only_the_fields_sent() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let c = app.api_client("anna").await;
    let r = c.json("POST", "/api/v1/persons", registration(anna.user_id, "Parziale")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["person_id"].as_i64().unwrap();
    let full = json!({"phone": "0585 111111", "email": "", "address": "", "citizenship": "italiana",
                      "education": "media_superiore", "work_history": "", "living_situation": "", "user_class": ""});
    let r = c.json("PATCH", &format!("/api/v1/persons/{id}"), full).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // Only the phone: education and citizenship stay as they were.
    let r = c.json("PATCH", &format!("/api/v1/persons/{id}"), json!({"phone": "0585 222222"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let p = c.get(&format!("/api/v1/persons/{id}")).await.json();
    assert_eq!(p["identity"]["phone"], "0585 222222");
    assert_eq!(p["person"]["education"], "media_superiore", "a field not sent is kept: {p}");
    assert_eq!(p["person"]["citizenship"], "italiana");
    // A field sent empty is cleared; an unknown field is an error, not silently ignored.
    let r = c.json("PATCH", &format!("/api/v1/persons/{id}"), json!({"education": ""})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(c.get(&format!("/api/v1/persons/{id}")).await.json()["person"]["education"].is_null());
    let r = c.json("PATCH", &format!("/api/v1/persons/{id}"), json!({"telefono": "1"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}
