//! One test per role: what it can and cannot see and do, through the pages and the API.

use crate::support::{id_from_location, TestApp};
use axum::http::StatusCode;
use serde_json::json;

/// Registers a person at SerD Zona 1-MS (case manager anna) and returns the id.
async fn anna_person(app: &TestApp, surname: &str) -> i64 {
    let cm = app.actor("anna").await.user_id.to_string();
    let c = app.login("anna").await;
    let r = c
        .post(
            "/persone",
            &[
                ("surname", surname),
                ("name", "Paolo"),
                ("birth_date", "1979-03-03"),
                ("sex", "M"),
                ("fiscal_code", ""),
                ("start_date", "2026-02-01"),
                ("case_manager_id", &cm),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    id_from_location(&r.location())
}

#[tokio::test]
async fn case_manager_sees_and_manages_own_people() {
    let app = TestApp::new().await;
    let id = anna_person(&app, "Orsini").await;
    let c = app.login("anna").await;
    let page = c.get(&format!("/persone/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Orsini Paolo"), "identity visible");
    assert!(page.body.contains("Chiudi la presa in carico"), "can close the episode");
    assert!(page.body.contains("Registra un consenso"));
}

#[tokio::test]
async fn other_organisation_gets_404_in_pages_and_api() {
    let app = TestApp::new().await;
    let id = anna_person(&app, "Lupi").await;
    let luca = app.login("luca").await;
    assert_eq!(luca.get(&format!("/persone/{id}")).await.status, StatusCode::NOT_FOUND);
    assert!(!luca.get("/persone?q=lupi").await.body.contains("Lupi"));
    let r = luca
        .post(
            &format!("/persone/{id}/consensi"),
            &[("organisation_id", "1"), ("purpose", "monitoraggio_esiti"), ("start_date", "2026-01-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "cannot act on a person it does not follow");
    let api = app.api_client("luca").await;
    let r = api.get(&format!("/api/v1/persons/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
    let list = api.get("/api/v1/persons?q=lupi").await.json();
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn operator_sees_people_of_their_team_but_cannot_close_episodes() {
    let app = TestApp::new().await;
    let id = anna_person(&app, "Sorrentino").await;
    let anna = app.actor("anna").await;
    let ep = app.svc.pathway(&anna, id).await.unwrap().manageable_episode.unwrap();
    let paola_m = app.svc.cli_membership("paola", None, None).await.unwrap();
    let paola = app.login("paola").await;
    assert_eq!(paola.get(&format!("/persone/{id}")).await.status, StatusCode::NOT_FOUND, "not yet on the team");
    let c = app.login("anna").await;
    c.post(
        &format!("/episodi/{ep}/equipe"),
        &[("membership_id", &paola_m.id.to_string()), ("function", "Assistente sociale")],
    )
    .await;
    let page = paola.get(&format!("/persone/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sorrentino Paolo"), "operators see identity");
    assert!(!page.body.contains("Chiudi la presa in carico"));
    let r = paola.post(&format!("/episodi/{ep}/chiusura"), &[("end_date", "2026-03-01"), ("closure", "altro")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn coordinator_sees_pseudonymised_records_only() {
    let app = TestApp::new().await;
    let id = anna_person(&app, "Cattaneo").await;
    let c = app.login("coordinatore").await;
    let page = c.get(&format!("/persone/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Cattaneo"), "no identity for coordinators");
    assert!(page.body.contains("Identità riservata"));
    let list = c.get("/persone?q=cattaneo").await.body;
    assert!(!list.contains(&format!("/persone/{id}")), "cannot search by name without identity access");
    assert_eq!(c.get("/persone/nuova").await.status, StatusCode::FORBIDDEN);
    let api = app.api_client("coordinatore").await;
    let p = api.get(&format!("/api/v1/persons/{id}")).await.json();
    assert!(p["identity"].is_null());
    assert_eq!(p["identity_hidden"], true);
}

#[tokio::test]
async fn tutor_analyst_admin_and_auditor_see_no_clinical_records() {
    let app = TestApp::new().await;
    let id = anna_person(&app, "Ferraro").await;
    for user in ["davide", "analista", "admin", "auditor"] {
        let c = app.login(user).await;
        assert_eq!(c.get("/persone").await.status, StatusCode::FORBIDDEN, "{user} /persone");
        assert_eq!(c.get(&format!("/persone/{id}")).await.status, StatusCode::FORBIDDEN, "{user} person page");
        let home = c.get("/home").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(!home.body.contains("Ferraro"));
        let api = app.api_client(user).await;
        let r = api.get(&format!("/api/v1/persons/{id}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user} API");
        let r = api.json("POST", "/api/v1/persons", json!({"person": {"surname": "X", "name": "Y", "birth_date": "1980-01-01", "sex": "M"}, "episode": {"start_date": "2026-01-01", "case_manager_id": "1"}})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user} cannot register");
    }
}

#[tokio::test]
async fn administrator_manages_accounts_only() {
    let app = TestApp::new().await;
    let admin = app.login("admin").await;
    assert_eq!(admin.get("/admin/utenti").await.status, StatusCode::OK);
    assert_eq!(admin.get("/admin/enti").await.status, StatusCode::OK);
    assert_eq!(admin.get("/audit").await.status, StatusCode::FORBIDDEN, "administration and audit are separate duties");
    let anna = app.login("anna").await;
    assert_eq!(anna.get("/admin/utenti").await.status, StatusCode::FORBIDDEN);
    assert_eq!(anna.get("/audit").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn auditor_reads_the_trail() {
    let app = TestApp::new().await;
    anna_person(&app, "Gentile").await;
    let c = app.login("auditor").await;
    let page = c.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("anna") && page.body.contains("registrazione"));
    let verified = c.get("/audit?verify=1").await.body;
    assert!(verified.contains("Catena integra"), "{verified}");
}

/// Outcome reports by role: analysts the whole region suppressed (and the extract),
/// coordinators their own organisation exactly, everybody else nothing.
#[tokio::test]
async fn outcome_reports_by_role() {
    let app = TestApp::new().await;
    let historic = app
        .svc
        .programme_by_name(percorsi_service::demo::SEED001_PROGRAMME)
        .await
        .expect("the demo imports seed 001")
        .id;
    let path = format!("/api/v1/reports?programme_id={historic}&table=1");
    let extract = format!("/api/v1/reports/extract?programme_id={historic}");
    for (user, report, rows) in [
        ("analista", StatusCode::OK, Some(179)),
        ("coordinatore", StatusCode::OK, None),
        ("anna", StatusCode::FORBIDDEN, None),
        ("paola", StatusCode::FORBIDDEN, None),
        ("davide", StatusCode::FORBIDDEN, None),
        ("admin", StatusCode::FORBIDDEN, None),
        ("auditor", StatusCode::FORBIDDEN, None),
    ] {
        let c = app.api_client(user).await;
        let r = c.get(&path).await;
        assert_eq!(r.status, report, "{user} report: {}", r.body);
        let e = c.get(&extract).await;
        match rows {
            Some(n) => {
                assert_eq!(e.status, StatusCode::OK, "{user} extract");
                let e = e.json();
                let kept = e["rows"].as_array().map(Vec::len).unwrap_or_default();
                assert_eq!(kept as u64 + e["left_out"].as_u64().unwrap_or_default(), n as u64, "{e}");
            }
            None => assert_eq!(e.status, StatusCode::FORBIDDEN, "{user} extract"),
        }
    }
    let analyst = app.api_client("analista").await.get(&path).await.json();
    // The analyst's headline count is protected like the tables' grand total: 179 ± 2.
    assert_eq!(analyst["suppressed"].as_bool(), Some(true));
    let shown = analyst["interventions"].as_i64().expect("a count");
    assert!((177..=181).contains(&shown), "{shown}");
    // The coordinator of SerD Zona 1-MS sees their own organisation only, with exact numbers.
    let coord = app.api_client("coordinatore").await;
    let current = coord.get("/api/v1/programmes").await.json();
    let current = current
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["name"].as_str().is_some_and(|n| !n.contains("2011")))
        .expect("current")["id"]
        .as_i64()
        .expect("id");
    let own = coord.get(&format!("/api/v1/reports?programme_id={current}&table=1")).await.json();
    assert_eq!(own["suppressed"], false);
    let rows = own["tables"][0]["grids"][0]["rows"].as_array().expect("rows");
    let names: Vec<&str> =
        rows.iter().filter(|r| r["role"] == "category").filter_map(|r| r["label"].as_str()).collect();
    assert_eq!(names, vec!["SerD Zona 1-MS"], "only their own organisation");

    // A coordinator of the AUSL sees the SerD zones under it as well, still exactly.
    let admin = app.actor("admin").await;
    let ausl = app.org_id("Azienda USL Toscana nord ovest").await;
    let form = percorsi_domain::user::UserForm {
        username: "coord.ausl".into(),
        display_name: "Coordinamento AUSL".into(),
        password: "una-password-lunga-abbastanza".into(),
        organisation_id: ausl.to_string(),
        role: "coordinatore".into(),
    };
    app.svc.create_user(&admin, &form).await.expect("user");
    let c = app.api_client("coord.ausl").await;
    let r = c.get(&format!("/api/v1/reports?programme_id={current}&table=1")).await.json();
    assert_eq!(r["suppressed"], false);
    let rows = r["tables"][0]["grids"][0]["rows"].as_array().expect("rows").clone();
    let names: Vec<&str> =
        rows.iter().filter(|r| r["role"] == "category").filter_map(|r| r["label"].as_str()).collect();
    assert_eq!(names, vec!["SerD Zona 1-MS", "SerD Zona 6-LI"]);
}

/// Names follow one rule everywhere (the store's `Scope::names`): shown where the reader's
/// organisation may see the person's identity, the code otherwise. A consent for monitoring
/// alone opens the record but never the name, not in lists, not in a search by name, not in
/// the triage list; the organisation in charge sees the name on the agenda, the project, the
/// printed project, the intervention list and the referrals it sent.
#[tokio::test]
async fn names_are_shown_exactly_where_identity_is_allowed() {
    let app = TestApp::new().await;
    let id = anna_person(&app, "Quarantotti").await;
    let code = app.svc.pathway(&app.actor("anna").await, id).await.expect("pathway").person.code;
    let luca_org = app.actor("luca").await.organisation_id.to_string();
    let anna = app.login("anna").await;
    let r = anna
        .post(
            &format!("/persone/{id}/consensi"),
            &[("organisation_id", &luca_org), ("purpose", "monitoraggio_esiti"), ("start_date", "2026-01-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = anna
        .post(
            &format!("/persone/{id}/segnalazioni"),
            &[("to_organisation_id", &luca_org), ("reason", "Inserimento lavorativo"), ("urgency", "ordinaria")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Luca's organisation sees the record through the monitoring consent, never the name.
    let luca = app.login("luca").await;
    let list = luca.get("/persone").await.body;
    assert!(list.contains(&format!("/persone/{id}")) && list.contains(&code), "visible by consent");
    assert!(!list.contains("Quarantotti"), "no name by a monitoring consent");
    assert!(
        !luca.get("/persone?q=quarant").await.body.contains(&format!("/persone/{id}")),
        "no search by a hidden name"
    );
    let triage = luca.get("/segnalazioni").await.body;
    assert!(triage.contains(&code) && !triage.contains("Quarantotti"), "the triage list shows the code");
    let api = app.api_client("luca").await;
    let rows = api.get("/api/v1/persons").await.json();
    let row = rows.as_array().expect("list").iter().find(|p| p["id"] == id).expect("listed").clone();
    assert!(row["surname"].is_null() && row["name"].is_null(), "{row}");
    assert_eq!(api.get("/api/v1/persons?q=quarant").await.json().as_array().map(Vec::len), Some(0));

    // A consent whose purpose covers identity opens the name, in the list and in the search.
    let r = anna
        .post(
            &format!("/persone/{id}/consensi"),
            &[("organisation_id", &luca_org), ("purpose", "inserimento_lavorativo"), ("start_date", "2026-01-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(luca.get("/persone?q=quarant").await.body.contains("Quarantotti Paolo"), "now found by name");

    // The organisation in charge: the referral it sent, the project, its print, the agenda.
    assert!(anna.get("/segnalazioni").await.body.contains("Quarantotti Paolo"), "sent referral named");
    let cm = app.actor("anna").await;
    let day = |d: i64| (percorsi_service::today() + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
    let plan = json!({
        "start_date": day(0), "end_date": day(365), "next_review": day(7),
        "o0_axis": "casa_habitat", "o0_title": "Una casa propria", "o0_results": "Contratto di affitto",
        "o0_org": cm.organisation_id.to_string()
    });
    let r = app.api_client("anna").await.json("POST", &format!("/api/v1/persons/{id}/projects"), plan).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let project = r.json()["id"].as_i64().expect("id");
    let page = anna.get(&format!("/progetti/{project}")).await.body;
    assert!(page.contains("Quarantotti Paolo"), "project page named");
    let print = anna.get(&format!("/progetti/{project}/stampa")).await.body;
    assert!(print.contains("Quarantotti Paolo") && print.contains(&code), "the document the person signs names them");
    let home = anna.get("/home").await.body;
    assert!(home.contains(&format!("<a href=\"/progetti/{project}\">Quarantotti Paolo</a>")), "agenda named");
    // The coordinator of the same organisation reads the same project by code only.
    let coord = app.login("coordinatore").await.get(&format!("/progetti/{project}")).await;
    assert_eq!(coord.status, StatusCode::OK);
    assert!(!coord.body.contains("Quarantotti") && coord.body.contains(&code), "coordinators see codes");
}

/// Each role's home page shows what it acts on today: the coordinator the programmes' money,
/// the organisation's interventions that need attention and the referrals waiting (and not
/// "you follow nobody"); the analyst the programmes with their reports; the auditor the
/// emergency accesses to review; the administrator accounts and organisations.
#[tokio::test]
async fn every_role_has_a_home_page_with_what_it_acts_on() {
    let app = TestApp::new().await;
    let coord = app.login("coordinatore").await.get("/home").await;
    assert_eq!(coord.status, StatusCode::OK);
    assert!(coord.body.contains("Programmi: budget e disponibilità"), "{}", coord.body);
    assert!(coord.body.contains("<meter"), "a bar of the budget used");
    assert!(coord.body.contains("ente: cosa richiede attenzione"), "the organisation's interventions due");
    assert!(coord.body.contains("da valutare"), "referrals waiting");
    assert!(!coord.body.contains("Non segui ancora nessuna persona"));
    // The money shown is the programme's own: the first programme's available amount.
    let actor = app.actor("coordinatore").await;
    let programme = app.svc.programmes(&actor).await.expect("programmes").into_iter().next().expect("one");
    let overview = app.svc.programme_overview(&actor, programme.id).await.expect("overview");
    let euros = percorsi_domain::money::format_euros(overview.total_available);
    assert!(coord.body.contains(&euros), "available {euros} shown");

    let analyst = app.login("analista").await.get("/home").await.body;
    assert!(analyst.contains(&format!("/report?programme_id={}", programme.id)), "report per programme");
    assert!(!analyst.contains("da valutare"), "analysts triage nothing");

    let auditor = app.login("auditor").await.get("/home").await.body;
    assert!(
        auditor.contains("accessi di emergenza da rivedere") || auditor.contains("accesso di emergenza da rivedere"),
        "{auditor}"
    );
    assert!(!auditor.contains("Programmi: budget"), "auditors read no budgets here");

    let admin = app.login("admin").await.get("/home").await.body;
    assert!(admin.contains("account attivi") && admin.contains(" enti"), "{admin}");
    assert!(!admin.contains("da valutare"));

    let anna = app.login("anna").await.get("/home").await.body;
    assert!(anna.contains("Le persone che segui") && anna.contains("Oggi"), "the case manager keeps her people");
    assert!(!anna.contains("Programmi: budget"), "case managers' home is their people");
}
