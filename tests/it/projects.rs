//! Personalised projects through HTTP: writing one with objectives on two axes, a new version
//! that keeps the old one readable, a review, the agenda, the printable document, who may see
//! and change it, and errors that name the objective's field.

use crate::support::TestApp;
use axum::http::StatusCode;
use serde_json::json;

/// One of Anna's people (SerD Zona 1-MS), with identity.
async fn annas_person(app: &TestApp) -> i64 {
    app.named_person("anna").await.id
}

fn today() -> chrono::NaiveDate {
    percorsi_service::today()
}

fn plan(org: i64) -> serde_json::Value {
    let start = today().format("%Y-%m-%d").to_string();
    let end = (today() + chrono::Duration::days(365)).format("%Y-%m-%d").to_string();
    let review = (today() + chrono::Duration::days(7)).format("%Y-%m-%d").to_string();
    json!({
        "start_date": start, "end_date": end, "next_review": review,
        "budget_casa_habitat": "2.400", "budget_formazione_lavoro": "1.800,50",
        "o0_axis": "casa_habitat", "o0_title": "Una casa propria", "o0_results": "Contratto di affitto",
        "o0_supports": "inserimento_abitativo,sostegno_socio_educativo", "o0_org": org.to_string(),
        "o0_person": "Cercare annunci ogni settimana", "o0_services": "Accompagnamento alle visite",
        "o1_axis": "formazione_lavoro", "o1_title": "Tornare al lavoro", "o1_results": "Un tirocinio avviato",
        "o1_supports": "tirocinio_inclusione_sociale", "o1_org": org.to_string(), "o1_operator": "Marco Ferri"
    })
}

#[tokio::test]
async fn a_project_is_written_versioned_reviewed_and_printed() {
    let app = TestApp::new().await;
    let person = annas_person(&app).await;
    let cpi = app.org_id("Centro per l'impiego").await;
    let anna = app.api_client("anna").await;
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/projects"), plan(cpi)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");

    let v1 = anna.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["plan"]["objectives"].as_array().map(Vec::len), Some(2));
    assert_eq!(v1["plan"]["budget"]["casa_habitat"], 240000);
    assert_eq!(v1["plan"]["budget"]["formazione_lavoro"], 180050);

    // A change without a reason is refused; with one it becomes version 2.
    let mut changed = plan(cpi);
    changed["o1_title"] = json!("Un lavoro stabile");
    let r = anna.json("PUT", &format!("/api/v1/projects/{id}"), changed.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("\"reason\""), "{}", r.body);
    changed["reason"] = json!("verifica: obiettivo lavoro ridefinito");
    let r = anna.json("PUT", &format!("/api/v1/projects/{id}"), changed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["id"], 2);
    let v2 = anna.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(v2["plan"]["objectives"][1]["title"], "Un lavoro stabile");
    let old = anna.get(&format!("/api/v1/projects/{id}?version=1")).await.json();
    assert_eq!(old["plan"]["objectives"][1]["title"], "Tornare al lavoro", "version 1 stays readable");

    // A review needs an outcome for every objective.
    let next = (today() + chrono::Duration::days(90)).format("%Y-%m-%d").to_string();
    let day = today().format("%Y-%m-%d").to_string();
    let r = anna
        .json("POST", &format!("/api/v1/projects/{id}/reviews"), json!({"review_date": day, "participants": "persona, SerD, CPI", "next_review": next, "o0_outcome": "parzialmente_raggiunto"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("o1_outcome"), "{}", r.body);
    let r = anna
        .json("POST", &format!("/api/v1/projects/{id}/reviews"), json!({"review_date": day, "participants": "persona, SerD, CPI", "next_review": next, "o0_outcome": "parzialmente_raggiunto", "o1_outcome": "modificato"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let after = anna.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(after["reviews"][0]["review"]["outcomes"], json!(["parzialmente_raggiunto", "modificato"]));
    assert_eq!(after["project"]["next_review"], next);

    // Pages: pathway lists it, the project page shows both axes, the print view is the document.
    let page = app.login("anna").await;
    let pathway = page.get(&format!("/persone/{person}")).await.body;
    assert!(pathway.contains(&format!("/progetti/{id}")), "pathway links the project");
    let show = page.get(&format!("/progetti/{id}")).await.body;
    for text in ["Casa/habitat", "Formazione/lavoro", "Un lavoro stabile", "Parzialmente raggiunto", "Versione 1"] {
        assert!(show.contains(text), "project page lacks {text}");
    }
    let print = page.get(&format!("/progetti/{id}/stampa")).await.body;
    assert!(
        print.contains("Firme") && print.contains("Centro per l&#x27;impiego di Massa"),
        "signature lines for the responsible organisations"
    );
}

#[tokio::test]
async fn the_agenda_shows_reviews_due_and_the_form_names_each_objective_field() {
    let app = TestApp::new().await;
    let person = annas_person(&app).await;
    let org = app.org_id("SerD Zona 1-MS").await;
    let page = app.login("anna").await;
    // Through the page form: the objective's wrong fields are named with their objective.
    let mut fields: Vec<(String, String)> = plan(org)
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    fields.retain(|(k, _)| k != "o1_results");
    fields.push(("o2_title".into(), "Amici".into()));
    fields.push(("o2_axis".into(), "amicizia".into()));
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = page.post(&format!("/persone/{person}/progetti"), &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Obiettivo 2 – Risultati attesi"), "objective 2's field is named");
    assert!(r.body.contains("Obiettivo 3 – Asse"), "objective 3's axis is named");
    assert!(r.body.contains("Una casa propria"), "input kept");
    // Fixed, with the supports as checkboxes (repeated fields).
    let mut ok: Vec<(&str, &str)> =
        form.iter().copied().filter(|(k, _)| !k.starts_with("o2_") && *k != "o0_supports").collect();
    ok.push(("o1_results", "Un tirocinio"));
    ok.push(("o0_supports", "inserimento_abitativo"));
    ok.push(("o0_supports", "attivita_socializzazione"));
    let r = page.post(&format!("/persone/{person}/progetti"), &ok).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: i64 = r.location().trim_start_matches("/progetti/").split('?').next().unwrap_or("").parse().expect("id");
    let v = app.api_client("anna").await.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(v["plan"]["objectives"][0]["supports"], json!(["inserimento_abitativo", "attivita_socializzazione"]));
    // The review is due within a week: it is on Anna's home.
    let home = page.get("/home").await.body;
    assert!(home.contains("Progetti: cosa è in scadenza") && home.contains(&format!("/progetti/{id}")), "agenda");
    assert!(home.contains("verifica del progetto il"), "review due soon");

    // A commitment past its date and not reached is on the agenda too.
    let day = |d: i64| (today() + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
    let mut late = plan(org);
    late["start_date"] = json!(day(-60));
    late["o0_due"] = json!(day(-30));
    let anna = app.api_client("anna").await;
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/projects"), late).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let home = page.get("/home").await.body;
    assert!(home.contains("impegno «Una casa propria» entro il"), "overdue commitment on the agenda");
}

#[tokio::test]
async fn only_who_sees_the_person_sees_the_project_and_only_its_organisation_changes_it() {
    let app = TestApp::new().await;
    let person = annas_person(&app).await;
    let org = app.org_id("SerD Zona 1-MS").await;
    let anna = app.api_client("anna").await;
    let id = anna.json("POST", &format!("/api/v1/persons/{person}/projects"), plan(org)).await.json()["id"]
        .as_i64()
        .expect("id");
    // Luca (SerD Zona 6-LI) has no ground to see this person: 404, in pages and API.
    let luca = app.api_client("luca").await;
    assert_eq!(luca.get(&format!("/api/v1/projects/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.login("luca").await.get(&format!("/progetti/{id}")).await.status, StatusCode::NOT_FOUND);
    let r = luca.json("POST", &format!("/api/v1/persons/{person}/projects"), plan(org)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The coordinator of Anna's organisation reads it (pseudonymised pathway) but cannot change it.
    let coord = app.api_client("coordinatore").await;
    assert_eq!(coord.get(&format!("/api/v1/projects/{id}")).await.status, StatusCode::OK);
    let mut change = plan(org);
    change["reason"] = json!("x");
    assert_eq!(coord.json("PUT", &format!("/api/v1/projects/{id}"), change).await.status, StatusCode::FORBIDDEN);
    // Tutors and analysts see no project.
    assert_eq!(
        app.api_client("davide").await.get(&format!("/api/v1/projects/{id}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.api_client("analista").await.get(&format!("/api/v1/projects/{id}")).await.status,
        StatusCode::FORBIDDEN
    );
    // Reading is audited.
    let trail = app.login("auditor").await.get("/audit").await.body;
    assert!(trail.contains("consultazione progetto"));
}

/// Objectives carry their priority (short or medium term) and the person's own choice, in
/// their words (seed 000): kept in the version, shown on the project, its print and the
/// person's own page; an unknown priority is refused naming the objective's field.
#[tokio::test]
async fn objectives_carry_priority_and_the_persons_own_choice() {
    let app = TestApp::new().await;
    let person = annas_person(&app).await;
    let org = app.org_id("SerD Zona 1-MS").await;
    let anna = app.api_client("anna").await;
    let mut p = plan(org);
    p["o0_priority"] = json!("subito");
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/projects"), p.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("o0_priority"), "{}", r.body);
    p["o0_priority"] = json!("breve_termine");
    p["o0_chosen"] = json!("true");
    p["o0_view"] = json!("Voglio una casa dove stare con mia figlia");
    p["o1_priority"] = json!("medio_termine");
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/projects"), p).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    let v = anna.get(&format!("/api/v1/projects/{id}")).await.json();
    let o = &v["plan"]["objectives"];
    assert_eq!((o[0]["priority"].as_str(), o[0]["chosen_by_person"].as_bool()), (Some("breve_termine"), Some(true)));
    assert_eq!(o[0]["person_view"], "Voglio una casa dove stare con mia figlia");
    assert_eq!((o[1]["priority"].as_str(), o[1]["chosen_by_person"].as_bool()), (Some("medio_termine"), Some(false)));
    let page = app.login("anna").await;
    let print = page.get(&format!("/progetti/{id}/stampa")).await.body;
    assert!(
        print.contains("breve termine") && print.contains("scelto dalla persona"),
        "on the document the person signs"
    );
    assert!(print.contains("Voglio una casa dove stare con mia figlia"));
    // Editing keeps them in the form.
    let form = page.get(&format!("/progetti/{id}/modifica")).await.body;
    assert!(
        form.contains("value=\"breve_termine\" selected")
            && form.contains("name=\"o0_chosen\" type=\"checkbox\" value=\"true\" checked"),
        "kept for the next version"
    );
}
