//! The opportunities catalogue and placements through HTTP, and the Housing First rule: a
//! housing placement is never conditional on treatment, substances or relapses.

use crate::support::TestApp;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn housing_is_offered_searched_placed_and_never_tied_to_treatment() {
    let app = TestApp::new().await;
    let paola = app.api_client("paola").await;
    // A housing unit needs its kind and support intensity.
    let unit = json!({"kind": "abitazione", "axis": "casa_habitat", "title": "Appartamento via Roma", "territory": "9-GR", "capacity": "1"});
    let r = paola.json("POST", "/api/v1/opportunities", unit.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("housing_kind") && r.body.contains("support_intensity"), "{}", r.body);
    let mut unit = unit;
    unit["housing_kind"] = json!("housing_first");
    unit["support_intensity"] = json!("alta");
    let r = paola.json("POST", "/api/v1/opportunities", unit).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let housing = r.json()["id"].as_i64().expect("id");
    let r = paola
        .json("POST", "/api/v1/opportunities", json!({"kind": "socializzazione", "axis": "affettivita_socialita", "title": "Laboratorio teatrale", "territory": "6-LI", "capacity": "10"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    // Anna searches by territory and axis.
    let anna = app.api_client("anna").await;
    let found = anna.get("/api/v1/opportunities?territory=9-GR&axis=casa_habitat").await.json();
    let found = found.as_array().expect("list");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0]["title"].as_str(), found[0]["available"].as_i64()), (Some("Appartamento via Roma"), Some(1)));

    // A person of Anna's with a running intervention moves into the flat, for a project objective.
    let actor = app.actor("anna").await;
    let running = app
        .svc
        .organisation_interventions(&actor)
        .await
        .expect("list")
        .into_iter()
        .find(|i| i.status == "attivo" && i.programme_name != "Inserimenti lavorativi 2011–2012")
        .expect("a running intervention");
    let person = running.person_id;
    let today = percorsi_service::today();
    let day = |d: i64| (today + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
    let org = app.org_id("SerD Zona 1-MS").await.to_string();
    let project = anna
        .json("POST", &format!("/api/v1/persons/{person}/projects"), json!({"start_date": day(0), "end_date": day(300), "next_review": day(60),
            "o0_axis": "casa_habitat", "o0_title": "Abitare da solo", "o0_results": "Sei mesi nell'appartamento", "o0_org": org.clone(),
            "o1_axis": "formazione_lavoro", "o1_title": "Lavoro", "o1_results": "Concludere l'inserimento", "o1_org": org,
            "o1_supports": running.intervention_type.clone()}))
        .await
        .json()["id"]
        .as_i64()
        .expect("project");
    let place = json!({"person_id": person.to_string(), "start_date": day(0), "project_id": project.to_string(), "objective": "1"});
    let r = anna.json("POST", &format!("/api/v1/opportunities/{housing}/placements"), place.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = anna.json("POST", &format!("/api/v1/opportunities/{housing}/placements"), place).await;
    assert!(r.body.contains("err-opportunity-full"), "the only place is taken: {}", r.body);
    let view = anna.get(&format!("/api/v1/projects/{project}")).await.json();
    assert_eq!(view["supports_in_place"][0][0]["kind"], "placement", "the flat serves objective 1: {view}");
    assert_eq!(view["supports_in_place"][0][0]["what"], "Appartamento via Roma");
    let work = view["supports_in_place"][1].as_array().expect("objective 2");
    assert!(
        work.iter().any(|s| s["kind"] == "intervention" && s["id"] == running.id),
        "the protocol intervention is a support of objective 2: {work:?}"
    );

    // Relapses, substance use and an interruption for relapse change nothing about the home.
    let r = anna
        .json(
            "PUT",
            &format!("/api/v1/interventions/{}/monitoring", running.id),
            json!({"relapse_count": "7", "legal_substance_use": "si", "illegal_substance_use": "si"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = anna
        .json("POST", &format!("/api/v1/interventions/{}/conclusion", running.id), json!({"end_date": day(0), "outcome": "interrotto", "interruption_reason": "ricaduta_dipendenza", "evaluation": "negativa"}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let placements = anna.get(&format!("/api/v1/persons/{person}/placements")).await.json();
    let home = placements
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["opportunity_id"] == housing)
        .expect("placement")
        .clone();
    assert!(home["end_date"].is_null(), "the housing placement is still in progress: {home}");

    // Nothing in the API's description of opportunities and placements speaks of treatment.
    let spec = anna.get("/api/v1/openapi.json").await.json();
    let schemas = &spec["components"]["schemas"];
    for name in ["OpportunityForm", "OpportunityRow", "PlacementForm", "PlacementEndForm", "PlacementRow"] {
        let text = schemas[name].to_string().to_lowercase();
        assert!(!schemas[name].is_null(), "{name} documented");
        for word in ["relapse", "substance", "treatment", "ricad", "sostanz", "trattament"] {
            assert!(!text.contains(word), "{name} mentions {word}");
        }
    }

    // Ending it takes a date and a reason from a list without treatment reasons.
    let id = home["id"].as_i64().expect("id");
    let r = anna
        .json("POST", &format!("/api/v1/placements/{id}/end"), json!({"end_date": day(0), "reason": "ricaduta"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = anna
        .json("POST", &format!("/api/v1/placements/{id}/end"), json!({"end_date": day(0), "reason": "altra_soluzione"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // The catalogue page reads in Italian.
    let page = app.login("anna").await.get("/opportunita?territory=6-LI").await.body;
    assert!(page.contains("Laboratorio teatrale") && page.contains("Socializzazione"));
}

/// The placement form offers people by name with their project's objectives (no internal
/// numbers to type), the territory filter offers the catalogue's territories, and an objective
/// the project does not have is refused.
#[tokio::test]
async fn the_placement_form_offers_people_by_name_with_their_objectives() {
    let app = TestApp::new().await;
    let paola = app.api_client("paola").await;
    let r = paola
        .json("POST", "/api/v1/opportunities", json!({"kind": "socializzazione", "axis": "affettivita_socialita", "title": "Coro di quartiere", "territory": "3-VE", "capacity": "10"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let choir = r.json()["id"].as_i64().expect("id");
    let actor = app.actor("anna").await;
    let p = app.named_person("anna").await;
    let who = format!("{} {}", p.surname.clone().unwrap_or_default(), p.name.clone().unwrap_or_default());
    let day = |d: i64| (percorsi_service::today() + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
    let org = actor.organisation_id.to_string();
    let anna = app.api_client("anna").await;
    let r = anna
        .json("POST", &format!("/api/v1/persons/{}/projects", p.id), json!({"start_date": day(0), "end_date": day(300), "next_review": day(60),
            "o0_axis": "affettivita_socialita", "o0_title": "Nuove amicizie", "o0_results": "Un gruppo frequentato", "o0_org": org}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let project = r.json()["id"].as_i64().expect("project");

    let page = app.login("anna").await;
    let body = page.get("/opportunita").await.body;
    let target = format!("{}/{project}/1", p.id);
    assert!(
        body.contains(&format!("<option value=\"{target}\">{who} — Obiettivo 1: Nuove amicizie</option>")),
        "{body}"
    );
    assert!(body.contains("<option value=\"3-VE\">3-VE</option>"), "territories offered");
    assert!(!body.contains("Progetto n."), "no internal numbers to type");

    // An objective the project does not have is refused, naming the page's one field.
    let r = page
        .post(
            &format!("/opportunita/{choir}/inserimenti"),
            &[("target", &format!("{}/{project}/2", p.id)), ("start_date", &day(0))],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r =
        page.post(&format!("/opportunita/{choir}/inserimenti"), &[("target", &target), ("start_date", &day(0))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let view = anna.get(&format!("/api/v1/projects/{project}")).await.json();
    assert_eq!(view["supports_in_place"][0][0]["what"], "Coro di quartiere", "{view}");
}
