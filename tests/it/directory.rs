//! The opportunities catalogue as an Open Referral (HSDS 3.0) directory: what is published
//! validates against the specification's schema and never locates a housing unit; a directory
//! published by others is read all or nothing, and reading it again updates instead of
//! duplicating.

use crate::support::{Client, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};

fn assert_valid_hsds(services: &[Value]) {
    crate::support::assert_valid("hsds.js", services);
}

async fn own_titles(app: &TestApp, user: &str) -> Vec<String> {
    let actor = app.actor(user).await;
    let q = percorsi_service::opportunities::OpportunitySearch::default();
    let all = app.svc.opportunities(&actor, &q).await.expect("catalogue");
    all.into_iter().filter(|o| o.organisation_id == actor.organisation_id).map(|o| o.title).collect()
}

async fn offer(c: &Client, body: Value) -> i64 {
    let r = c.json("POST", "/api/v1/opportunities", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_i64().expect("id")
}

#[tokio::test]
async fn the_catalogue_is_published_as_hsds_and_read_back_all_or_nothing() {
    let app = TestApp::new().await;
    let paola = app.api_client("paola").await;
    // A bad directory field is named, in the caller's language.
    let r = paola
        .json("POST", "/api/v1/opportunities", json!({"kind": "formazione", "axis": "formazione_lavoro", "title": "Corso", "territory": "1-MS", "capacity": "5", "postal_code": "541", "languages": "ita"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("\"postal_code\"") && r.body.contains("\"languages\""), "{}", r.body);
    let course = offer(
        &paola,
        json!({"kind": "formazione", "axis": "formazione_lavoro", "title": "Corso di saldatura", "territory": "1-MS",
               "capacity": "8", "address": "Via Aurelia 12", "city": "Massa", "postal_code": "54100", "province": "ms",
               "phone": "0585 123456", "email": "corsi@coop.example.it", "url": "https://coop.example.it/saldatura",
               "schedule": "lun–ven 9–13", "eligibility": "Maggiorenni in carico ai servizi", "languages": "it, ar"}),
    )
    .await;
    let flat = offer(
        &paola,
        json!({"kind": "abitazione", "axis": "casa_habitat", "title": "Alloggio via dei Mille", "territory": "1-MS",
               "capacity": "2", "housing_kind": "housing_first", "support_intensity": "media",
               "address": "Via dei Mille 4", "city": "Massa", "postal_code": "54100", "province": "MS"}),
    )
    .await;

    // Published: every service valid HSDS 3.0; the course with its place, the flat without.
    let page = paola.get("/hsds/services?per_page=500").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = page.json();
    let services = page["contents"].as_array().expect("contents").clone();
    assert_eq!(page["total_items"].as_u64(), Some(services.len() as u64));
    assert_valid_hsds(&services);
    let by_id = |id: i64| {
        let uuid = percorsi_service::directory::uuid_for("service", id);
        services.iter().find(|s| s["id"] == uuid.as_str()).cloned().expect("published")
    };
    let c = by_id(course);
    let address = &c["service_at_locations"][0]["location"]["addresses"][0];
    assert_eq!(
        (address["address_1"].as_str(), address["state_province"].as_str()),
        (Some("Via Aurelia 12"), Some("MS"))
    );
    assert_eq!(c["languages"].as_array().map(Vec::len), Some(2));
    let f = by_id(flat);
    assert!(f.get("service_at_locations").is_none(), "a housing unit is never located: {f}");
    assert!(!f.to_string().contains("Mille 4"), "{f}");
    let one = paola.get(&format!("/hsds/services/{}", c["id"].as_str().expect("id"))).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["name"], "Corso di saldatura");
    // The CSV data package: every table the specification's schema lists, its columns in the
    // specification's order, rows that refer to each other.
    let official: Value =
        serde_json::from_str(include_str!("../validators/hsds-3.0/datapackage.json")).expect("descriptor");
    let package = paola.get("/hsds/datapackage.json").await.json();
    let mut tables = std::collections::BTreeMap::new();
    for r in package["resources"].as_array().expect("resources") {
        let path = r["path"].as_str().expect("path");
        let spec =
            official["resources"].as_array().expect("spec").iter().find(|x| x["path"] == path).expect("an HSDS table");
        let columns: Vec<&str> =
            spec["schema"]["fields"].as_array().expect("fields").iter().filter_map(|f| f["name"].as_str()).collect();
        let file = paola.get(&format!("/hsds/{path}")).await;
        assert_eq!(file.status, StatusCode::OK, "{path}");
        let mut reader = csv::Reader::from_reader(file.body.as_bytes());
        let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_string).collect();
        assert_eq!(header, columns, "{path}");
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        tables.insert(path.to_string(), (header, rows));
    }
    let column = |table: &str, name: &str| -> Vec<String> {
        let (header, rows) = &tables[table];
        let i = header.iter().position(|h| h == name).expect("column");
        rows.iter().map(|r| r[i].to_string()).collect()
    };
    assert_eq!(column("services.csv", "id").len(), services.len());
    let organisations = column("organizations.csv", "id");
    assert!(column("services.csv", "organization_id").iter().all(|o| organisations.contains(o)));
    let locations = column("locations.csv", "id");
    assert!(column("addresses.csv", "location_id").iter().all(|l| locations.contains(l)));
    assert!(column("addresses.csv", "address_1").contains(&"Via Aurelia 12".to_string()));
    assert!(!column("addresses.csv", "address_1").iter().any(|a| a.contains("Mille")), "no housing address");
    assert_eq!(app.client().get("/hsds/services").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.api_client("analista").await.get("/hsds/services").await.status, StatusCode::FORBIDDEN);

    // Another organisation reads the directory: everything arrives once, then is updated.
    let sara = app.api_client("sara").await;
    let import =
        "/api/v1/opportunities/import?kind=socializzazione&axis=affettivita_socialita&capacity=1&territory=6-LI";
    let before = own_titles(&app, "sara").await.len();
    let r = sara.json("POST", import, page.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["created"].as_u64(), Some(services.len() as u64), "{}", r.body);
    let r = sara.json("POST", import, page.clone()).await;
    assert_eq!((r.json()["created"].as_u64(), r.json()["updated"].as_u64()), (Some(0), Some(services.len() as u64)));
    let titles = own_titles(&app, "sara").await;
    assert_eq!(titles.len(), before + services.len(), "no duplicates");
    assert!(titles.iter().any(|t| t == "Corso di saldatura"));

    // A municipality's list with one bad service: nothing is read, the service is named.
    let foreign = json!([
        {"id": "m-1", "name": "Sportello casa", "status": "active", "email": "casa@comune.example.it"},
        {"id": "m-2", "name": "Mensa", "status": "active", "email": "mensa-at-comune"},
        {"id": "m-3", "name": "Vecchio servizio", "status": "defunct"}
    ]);
    let r = sara.json("POST", import, foreign).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("contents[1].email"), "{}", r.body);
    assert_eq!(own_titles(&app, "sara").await.len(), before + services.len(), "all or nothing");
    let ok = json!({"contents": [{"id": "m-1", "name": "Sportello casa", "status": "active"}, {"id": "m-3", "name": "Vecchio", "status": "defunct"}]});
    let r = sara.json("POST", import, ok).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.json()["created"].as_u64(), r.json()["skipped"].as_u64()), (Some(1), Some(1)));

    // The same from the page, for people who do not use the API: a file and the choices.
    let page = app.login("sara").await;
    let boundary = "DirBoundary";
    let form = |file: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nsocializzazione\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"axis\"\r\n\r\naffettivita_socialita\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"capacity\"\r\n\r\n3\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"territory\"\r\n\r\n6-LI\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"servizi.json\"\r\nContent-Type: application/json\r\n\r\n{file}\r\n--{boundary}--\r\n"
        )
    };
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let same_site = [("origin", "http://localhost"), ("host", "localhost")];
    let bad = r#"[{"id": "p-1", "name": "Laboratorio", "status": "active", "url": "laboratorio.example.it"}]"#;
    let r = page.raw_with("POST", "/opportunita/importa", &content_type, &form(bad), &same_site).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("contents[0]") && r.body.contains("deve iniziare con https://"), "{}", r.body);
    let r = page.raw_with("POST", "/opportunita/importa", &content_type, &form("non è JSON"), &same_site).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("non è un documento JSON"), "{}", r.body);
    let good = r#"[{"id": "p-1", "name": "Laboratorio di ceramica", "status": "active"}]"#;
    let r = page.raw_with("POST", "/opportunita/importa", &content_type, &form(good), &same_site).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Nuove opportunità: 1;"), "{}", r.body);
    assert!(own_titles(&app, "sara").await.iter().any(|t| t == "Laboratorio di ceramica"));
}
