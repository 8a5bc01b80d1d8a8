//! Limits that protect the server: past the cap of requests in flight the answer is an
//! immediate 503 with `Retry-After` (not a queue); imports may be as large as documented
//! (64 MB), and larger ones are refused with a message in the caller's language.

use crate::reports::seed_programme;
use crate::support::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_cap_requests_are_refused_at_once_with_retry_after() {
    let app = TestApp::new().await;
    let config = percorsi_web::WebConfig { max_in_flight: 1, ..Default::default() };
    let router = percorsi_web::router(app.svc.clone(), config);
    // A login whose body never finishes arriving holds the only permit.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let slow = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(stream))
        .expect("request");
    let held = tokio::spawn(router.clone().oneshot(slow));
    tx.send(Ok("username=anna".into())).await.expect("first bytes");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let refused = router.clone().oneshot(Request::get("/login").body(Body::empty()).expect("request")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("2"));
    let body = refused.into_body().collect().await.expect("body").to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("troppe richieste"), "in Italian for browsers");
    let api = Request::get("/api/v1/me").body(Body::empty()).expect("request");
    let refused = router.clone().oneshot(api).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = refused.into_body().collect().await.expect("body").to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON for the API");
    assert_eq!(json["error"]["code"], "overloaded");
    // Health checks still answer, so an operator can tell "overloaded" from "down".
    let health = router.clone().oneshot(Request::get("/healthz").body(Body::empty()).expect("request")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // Once the slow request ends, the permit returns.
    tx.send(Ok("&password=wrong".into())).await.expect("rest of the body");
    drop(tx);
    let first = held.await.expect("task").expect("response");
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let again = router.oneshot(Request::get("/login").body(Body::empty()).expect("request")).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn imports_larger_than_two_megabytes_are_read_and_too_large_ones_refused_in_the_callers_language() {
    let app = TestApp::new().await;
    let seed = seed_programme(&app).await;
    let analyst = app.api_client("analista").await;
    // About 3 MB of rows for an organisation that does not exist: read whole, every row reported.
    let mut csv = String::from("id_intervento;codice_persona;ente;tipo_intervento;data_inizio\n");
    let mut n = 0;
    while csv.len() < 3 * 1024 * 1024 {
        n += 1;
        csv.push_str(&format!("GRANDE-{n};P{n};Ente inesistente con un nome lungo;socio_terapeutico;2011-03-01\n"));
    }
    let path = format!("/api/v1/programmes/{}/import?file_name=grande.csv", seed.programme);
    let r = analyst.raw("POST", &path, "text/csv", &csv).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", &r.body[..r.body.len().min(300)]);
    let outcome = r.json();
    assert_eq!(outcome["rows"].as_u64(), Some(n), "every row was read");
    assert_eq!(outcome["written"], false);

    let too_large = (percorsi_web::MAX_UPLOAD_BYTES + 1).to_string();
    let mut italian = app.api_client("analista").await;
    italian.lang = Some("it");
    let r = italian.raw_with("POST", &path, "text/csv", "x", &[("content-length", too_large.as_str())]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "too_large");
    assert!(r.json()["error"]["message"].as_str().unwrap_or("").contains("supera i 64 MB"), "{}", r.body);
}

#[tokio::test]
async fn control_characters_are_refused_with_the_field_named_never_a_500() {
    let app = TestApp::new().await;
    let r = app.client().post_raw("/login", &[("username", "an\0na"), ("password", "x")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("caratteri di controllo"), "in Italian for browsers: {}", r.body);

    let anna = app.actor("anna").await;
    let api = app.api_client("anna").await;
    let body = serde_json::json!({
        "person": {"surname": "Ros\u{0}si", "name": "Carla", "birth_date": "1983-05-20", "sex": "F"},
        "episode": {"start_date": "2026-02-10", "case_manager_id": anna.user_id.to_string()}
    });
    let r = api.json("POST", "/api/v1/persons", body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.json()["error"]["fields"][0]["field"], "surname");

    let browser = app.login("anna").await;
    assert_eq!(browser.get("/persone?q=%00").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(browser.get("/persone?q=%1B%5B2J").await.status, StatusCode::BAD_REQUEST, "escape sequences too");
    // Line breaks and tabs are text: a search with them is an ordinary search.
    assert_eq!(browser.get("/persone?q=Rossi%0A").await.status, StatusCode::OK);
}

/// The router's own refusals (an unknown address, a path id that is not a number, a method the
/// route does not take) are answered like every other error: a page in the user's language, or
/// the API's JSON — never bare English text or an empty body.
#[tokio::test]
async fn unknown_addresses_and_malformed_ids_get_a_page_or_json() {
    let app = TestApp::new().await;
    let page = app.login("anna").await;
    let r = page.get("/non-esiste").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{:?}", r.header("content-type"));
    assert!(r.body.contains("non esiste"), "{}", r.body);
    let r = page.get("/progetti/abc").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("L’indirizzo richiesto non è valido"), "{}", r.body);
    // Attributes given to the field macro arrive as attributes, not as escaped text.
    let form = page.get("/persone/nuova").await;
    assert!(form.body.contains("maxlength=\"16\""), "the fiscal code field is limited to 16 characters");
    assert!(!form.body.contains("&quot;16&quot;"));
    let r = app.client().get("/pagina-inesistente").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("text/html")), "signed out too");
    let api = app.api_client("anna").await;
    for (path, status, code) in [
        ("/api/v1/niente", StatusCode::NOT_FOUND, "not_found"),
        ("/api/v1/persons/abc", StatusCode::BAD_REQUEST, "bad_request"),
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.json()["error"]["code"], code, "{path}: {}", r.body);
    }
    let r = api.json("DELETE", "/api/v1/persons", serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
}
