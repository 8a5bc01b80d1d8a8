//! The work-insertion protocol through HTTP: programmes and versioned rules, interventions
//! validated against them, lifecycle and budget ledger, forms and scores, the tutor's limits.

use crate::support::{id_from_location, TestApp};
use axum::http::StatusCode;
use chrono::{Datelike, Duration, NaiveDate};
use percorsi_domain::instrument::AssessmentKind;
use percorsi_domain::intervention::{ConclusionForm, InterventionForm, PaymentForm, TransitionForm};
use percorsi_domain::ledger::Model;
use percorsi_domain::programme::{ParticipationForm, ProgrammeForm};
use rand::{RngExt, SeedableRng};
use serde_json::json;

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn today() -> NaiveDate {
    percorsi_service::today()
}

/// A fresh programme (this year and next) where SerD Zona 1-MS has `budget` euros.
async fn programme(app: &TestApp, name: &str, budget: &str) -> i64 {
    let coord = app.actor("coordinatore").await;
    let start = NaiveDate::from_ymd_opt(today().year() - 1, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(today().year() + 1, 12, 31).unwrap();
    let id = app
        .svc
        .create_programme(
            &coord,
            &ProgrammeForm { name: name.into(), start_date: iso(start), end_date: iso(end), ..Default::default() },
        )
        .await
        .unwrap();
    let org = app.org_id("SerD Zona 1-MS").await.to_string();
    let form = ParticipationForm {
        organisation_id: org,
        budget: budget.into(),
        planned_inserimento_lavorativo: "3".into(),
        ..Default::default()
    };
    app.svc.set_participation(&coord, id, &form).await.unwrap();
    id
}

async fn person_of_anna(app: &TestApp) -> i64 {
    let anna = app.actor("anna").await;
    app.svc.followed(&anna).await.unwrap().into_iter().find(|p| !p.anonymous).unwrap().id
}

fn plan(programme: i64, host: i64, tutor: Option<i64>, start: NaiveDate, months: u32) -> Vec<(String, String)> {
    let end = start.checked_add_months(chrono::Months::new(months)).unwrap() - Duration::days(1);
    vec![
        ("programme_id".into(), programme.to_string()),
        ("intervention_type".into(), "inserimento_lavorativo".into()),
        ("host_organisation_id".into(), host.to_string()),
        ("tutor_id".into(), tutor.map(|t| t.to_string()).unwrap_or_default()),
        ("planned_start".into(), iso(start)),
        ("planned_end".into(), iso(end)),
        ("weekly_days".into(), "5".into()),
        ("weekly_hours".into(), "20".into()),
        ("monthly_amount".into(), "300".into()),
    ]
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

#[tokio::test]
async fn interventions_follow_the_programme_rules_and_keep_their_version() {
    let app = TestApp::new().await;
    let p = programme(&app, "Programma di prova", "20.000").await;
    let person = person_of_anna(&app).await;
    let host = app.org_id("Officine Apuane").await;
    let anna = app.login("anna").await;
    let start = today() - Duration::days(40);

    let r = anna.post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, None, start, 5))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("la durata di un intervento «inserimento lavorativo» deve essere tra 6 e 14 mesi (sono 5)"),
        "{}",
        r.body
    );
    let mut bad = plan(p, app.org_id("Servizio sociale").await, None, start, 6);
    bad[8].1 = "350".into();
    let r = anna.post(&format!("/persone/{person}/interventi"), &pairs(&bad)).await;
    assert!(
        r.body.contains(
            "Importo mensile: per un intervento «inserimento lavorativo» l&#x27;importo mensile è di € 300,00"
        ),
        "{}",
        r.body
    );
    assert!(r.body.contains("Ente ospitante: scegli un&#x27;azienda"));
    let luca = app.actor("luca").await;
    let r =
        anna.post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, Some(luca.user_id), start, 6))).await;
    assert!(r.body.contains("Tutor aziendale: deve essere un tutor aziendale dell&#x27;ente ospitante"));

    let r = anna.post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, None, start, 6))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let first = id_from_location(&r.location());

    // The coordinator changes the rule: 8–16 months at EUR 350.
    let coord = app.login("coordinatore").await;
    let r = coord
        .post(
            &format!("/programmi/{p}/regole"),
            &[
                ("intervention_type", "inserimento_lavorativo"),
                ("min_months", "8"),
                ("max_months", "6"),
                ("monthly_amount", "350"),
                ("amount_kind", "fisso"),
            ],
        )
        .await;
    assert!(r.body.contains("Durata massima (mesi): non può essere inferiore alla durata minima (8)"));
    let r = coord
        .post(
            &format!("/programmi/{p}/regole"),
            &[
                ("intervention_type", "inserimento_lavorativo"),
                ("min_months", "8"),
                ("max_months", "16"),
                ("monthly_amount", "350"),
                ("amount_kind", "fisso"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = coord.get(&format!("/programmi/{p}")).await.body;
    assert!(page.contains("da 8 a 16 mesi") && page.contains("da 6 a 14 mesi"), "both versions listed");

    let r = anna.post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, None, start, 6))).await;
    assert!(r.body.contains("deve essere tra 8 e 16 mesi"), "new proposals follow the new version");
    let mut v2 = plan(p, host, None, start, 8);
    v2[8].1 = "350".into();
    let r = anna.post(&format!("/persone/{person}/interventi"), &pairs(&v2)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let second = id_from_location(&r.location());
    let a = app.actor("anna").await;
    assert_eq!(
        app.svc.intervention(&a, first).await.unwrap().intervention.rule_version,
        1,
        "the first keeps its version"
    );
    assert_eq!(app.svc.intervention(&a, second).await.unwrap().intervention.rule_version, 2);
    // And the first still activates and prolongs under its own rule (max 14 months).
    let r = anna.post(&format!("/interventi/{first}/stato"), &[("transition", "attiva"), ("date", &iso(start))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let too_long = iso(start.checked_add_months(chrono::Months::new(15)).unwrap());
    let r = anna
        .post(
            &format!("/interventi/{first}/stato"),
            &[("transition", "proroga"), ("date", &iso(today())), ("new_end", &too_long)],
        )
        .await;
    assert!(r.body.contains("deve essere tra 6 e 14 mesi"), "{}", r.body);
}

#[tokio::test]
async fn lifecycle_moves_money_and_refuses_illegal_steps() {
    let app = TestApp::new().await;
    let p = programme(&app, "Programma stretto", "4.000").await;
    let person = person_of_anna(&app).await;
    let host = app.org_id("Officine Apuane").await;
    let anna = app.login("anna").await;
    let start = today() - Duration::days(70);
    let r = anna.post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, None, start, 6))).await;
    let id = id_from_location(&r.location());
    let r = anna.post(&format!("/interventi/{id}/stato"), &[("transition", "riprendi"), ("date", &iso(today()))]).await;
    assert!(r.body.contains("non è possibile «riprendi» un intervento in stato «proposto»"), "{}", r.body);
    let r = anna
        .post(
            &format!("/interventi/{id}/erogazioni"),
            &[("month", &start.format("%Y-%m").to_string()), ("amount", "300")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "no payments before activation");

    let r = anna.post(&format!("/interventi/{id}/stato"), &[("transition", "attiva"), ("date", &iso(start))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let coord = app.actor("coordinatore").await;
    let overview = |app: &TestApp| {
        let (svc, coord) = (app.svc.clone(), coord.clone());
        async move { svc.programme_overview(&coord, p).await.unwrap() }
    };
    let o = overview(&app).await;
    assert_eq!(
        (o.total_outstanding, o.total.paid, o.total_available),
        (180_000, 0, 220_000),
        "activation commits 6 × € 300"
    );

    let month = start.format("%Y-%m").to_string();
    let r = anna.post(&format!("/interventi/{id}/erogazioni"), &[("month", &month), ("amount", "301")]).await;
    assert!(r.body.contains("supera l&#x27;importo mensile"), "{}", r.body);
    let r = anna.post(&format!("/interventi/{id}/erogazioni"), &[("month", &month), ("amount", "300")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = anna.post(&format!("/interventi/{id}/erogazioni"), &[("month", &month), ("amount", "300")]).await;
    assert!(r.body.contains("per questo mese l&#x27;erogazione è già registrata"));
    let r = anna.post(&format!("/interventi/{id}/erogazioni"), &[("month", "2001-01"), ("amount", "300")]).await;
    assert!(r.body.contains("Mese: deve essere tra"));

    let r = anna
        .post(
            &format!("/interventi/{id}/stato"),
            &[("transition", "sospendi"), ("date", &iso(today())), ("note", "ricovero")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = anna
        .post(
            &format!("/interventi/{id}/stato"),
            &[("transition", "proroga"), ("date", &iso(today())), ("new_end", &iso(start + Duration::days(300)))],
        )
        .await;
    assert!(r.body.contains("non è possibile «proroga» un intervento in stato «sospeso»"));
    anna.post(&format!("/interventi/{id}/stato"), &[("transition", "riprendi"), ("date", &iso(today()))]).await;

    // Prolonging by 8 months would need € 2.400 more: only € 2.200 are available.
    let end8 = start.checked_add_months(chrono::Months::new(14)).unwrap() - Duration::days(1);
    let r = anna
        .post(
            &format!("/interventi/{id}/stato"),
            &[("transition", "proroga"), ("date", &iso(today())), ("new_end", &iso(end8))],
        )
        .await;
    assert!(r.body.contains("il budget disponibile è € 2.200,00: non basta per impegnare € 2.400,00"), "{}", r.body);
    let end7 = start.checked_add_months(chrono::Months::new(7)).unwrap() - Duration::days(1);
    let r = anna
        .post(
            &format!("/interventi/{id}/stato"),
            &[("transition", "proroga"), ("date", &iso(today())), ("new_end", &iso(end7))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(overview(&app).await.total_available, 190_000);

    // Ending early frees what was not paid; it is available to someone else.
    let r = anna
        .post(
            &format!("/interventi/{id}/conclusione"),
            &[
                ("end_date", &iso(today())),
                ("outcome", "interrotto"),
                ("interruption_reason", "altro"),
                ("evaluation", "negativa"),
            ],
        )
        .await;
    assert!(r.body.contains("Descrizione del motivo: è obbligatoria quando il motivo è «altro»"));
    let r = anna
        .post(
            &format!("/interventi/{id}/conclusione"),
            &[
                ("end_date", &iso(today())),
                ("outcome", "interrotto"),
                ("interruption_reason", "problemi_azienda"),
                ("evaluation", "parzialmente_negativa"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let o = overview(&app).await;
    assert_eq!((o.total_outstanding, o.total.paid, o.total.released, o.total_available), (0, 30_000, 180_000, 370_000));
    assert!(o.balanced);
    let r = anna.post(&format!("/interventi/{id}/stato"), &[("transition", "sospendi"), ("date", &iso(today()))]).await;
    assert!(r.body.contains("in stato «interrotto»"), "a closed intervention stays closed");
    let page = anna.get(&format!("/interventi/{id}")).await.body;
    assert!(page.contains("Problemi in azienda") && page.contains("ricovero"), "timeline and outcome shown");
}

#[tokio::test]
async fn forms_are_scored_kept_by_version_and_incomplete_sections_are_not_zero() {
    let app = TestApp::new().await;
    let p = programme(&app, "Programma schede", "20.000").await;
    let person = person_of_anna(&app).await;
    let host = app.org_id("Officine Apuane").await;
    let anna = app.login("anna").await;
    let start = today() - Duration::days(30);
    let id = id_from_location(
        &anna.post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, None, start, 6))).await.location(),
    );
    let page = anna.get(&format!("/interventi/{id}/schede/post")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("A – Comportamenti e regole durante l&#x27;intervento"));
    let mut answers: Vec<(&str, &str)> = vec![("assessed_on", "2099-01-01")];
    let r = anna.post(&format!("/interventi/{id}/schede/post"), &answers).await;
    assert!(r.body.contains("Data di compilazione: non può essere nel futuro"));
    let on = iso(today());
    answers = vec![
        ("assessed_on", &on),
        ("a_puntualita", "2"),
        ("a_orari", "2"),
        ("a_regole", "2"),
        ("a_attrezzature", "2"),
        ("a_sicurezza", "2"),
        ("b_colleghi", "4"),
        ("aut_denaro", "9"),
    ];
    let r = anna.post(&format!("/interventi/{id}/schede/post"), &answers).await;
    assert!(r.body.contains("risposta «9» non prevista"), "{}", r.body);
    answers.pop();
    let r = anna.post(&format!("/interventi/{id}/schede/post"), &answers).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let a = app.actor("anna").await;
    let d = app.svc.intervention(&a, id).await.unwrap();
    let post = &d.forms[0];
    let section = |code: &str| post.scores.iter().find(|s| s.section == code).unwrap().clone();
    assert_eq!(
        (section("A").score, section("A").band.map(|b| b.code())),
        (Some(10), Some("medio")),
        "5 × 2 = 10 is the first medio score"
    );
    assert!(!section("B").complete && section("B").score.is_none(), "one answer of five: incomplete, not 4");
    assert!(anna.get(&format!("/interventi/{id}")).await.body.contains("incompleta (1 di 5)"));
    // Opening a filled form is an audited read.
    anna.get(&format!("/interventi/{id}/schede/post")).await;
    let trail = app
        .svc
        .audit_trail(
            &app.actor("auditor").await,
            &percorsi_service::audit::AuditQuery { entity: format!("assessment:{id}"), ..Default::default() },
            None,
        )
        .await
        .unwrap();
    assert!(trail.iter().any(|r| r.entry.action == "read" && r.entry.username == "anna"), "form read audited");

    // Loading a new version of the form does not change a form already filled.
    let mut v2: serde_json::Value = serde_json::from_str(percorsi_service::instruments::SHIPPED[1]).unwrap();
    v2["version"] = json!(2);
    v2["sections"][1]["bands"] = json!({"medio_from": 12, "alto_from": 17});
    let admin = app.login("admin").await;
    let r = admin.post("/admin/schede", &[("definition", "{\"code\": ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Definizione della scheda: not a valid instrument definition"), "{}", r.body);
    let r = admin.post("/admin/schede", &[("definition", &v2.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(admin.get("/admin/schede").await.body.contains("scheda_post_intervento"));
    let r = admin.post("/admin/schede", &[("definition", &v2.to_string())]).await;
    assert!(r.body.contains("Questa versione della scheda è già caricata"), "the same version cannot be loaded twice");
    assert_eq!(anna.post("/admin/schede", &[("definition", &v2.to_string())]).await.status, StatusCode::FORBIDDEN);
    let d = app.svc.intervention(&a, id).await.unwrap();
    assert_eq!(d.forms[0].instrument_version, 1);
    assert_eq!(d.forms[0].scores.iter().find(|s| s.section == "A").unwrap().band.map(|b| b.code()), Some("medio"));
    let fresh = id_from_location(
        &anna.post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, None, start, 6))).await.location(),
    );
    assert_eq!(
        app.svc.form(&a, fresh, AssessmentKind::PostIntervento).await.unwrap().instrument.version,
        2,
        "new forms use the newest version"
    );
}

#[tokio::test]
async fn tutor_sees_and_records_only_what_concerns_the_intervention() {
    let app = TestApp::new().await;
    let p = programme(&app, "Programma tutor", "20.000").await;
    let person = person_of_anna(&app).await;
    let host = app.org_id("Officine Apuane").await;
    let davide = app.actor("davide").await;
    let anna = app.login("anna").await;
    let start = today() - Duration::days(30);
    let id = id_from_location(
        &anna
            .post(&format!("/persone/{person}/interventi"), &pairs(&plan(p, host, Some(davide.user_id), start, 6)))
            .await
            .location(),
    );
    anna.post(&format!("/interventi/{id}/stato"), &[("transition", "attiva"), ("date", &iso(start))]).await;
    anna.post(
        &format!("/interventi/{id}/monitoraggio"),
        &[("relapse_count", "7"), ("legal_substance_use", "si"), ("illegal_substance_use", "si")],
    )
    .await;
    let on = iso(today());
    anna.post(
        &format!("/interventi/{id}/schede/post"),
        &[("assessed_on", on.as_str()), ("aut_denaro", "1"), ("uso_sostanze_illegali", "0")],
    )
    .await;

    let tutor = app.login("davide").await;
    let list = tutor.get("/interventi").await.body;
    assert!(list.contains(&format!("/interventi/{id}\"")));
    let page = tutor.get(&format!("/interventi/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for hidden in ["ricadut", "Ricadut", "sostanz", "Sostanz", "Autonomia", "Impegnato", "7 episodi"] {
        assert!(!page.body.contains(hidden), "tutor page shows {hidden}");
    }
    let r = tutor
        .post(
            &format!("/interventi/{id}/presenze"),
            &[("month", &start.format("%Y-%m").to_string()), ("days_planned", "20"), ("days_present", "25")],
        )
        .await;
    assert!(r.body.contains("Giorni di presenza"), "{}", r.body);
    let r = tutor
        .post(
            &format!("/interventi/{id}/presenze"),
            &[("month", &start.format("%Y-%m").to_string()), ("days_planned", "20"), ("days_present", "17")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let form = tutor.get(&format!("/interventi/{id}/schede/post")).await.body;
    assert!(
        form.contains("a_puntualita") && !form.contains("aut_denaro") && !form.contains("uso_sostanze"),
        "only tutor sections"
    );
    let r = tutor
        .post(&format!("/interventi/{id}/schede/post"), &[("assessed_on", on.as_str()), ("aut_denaro", "4")])
        .await;
    assert!(r.body.contains("non puoi compilare la sezione «autonomia»"), "{}", r.body);
    let abc: Vec<(&str, &str)> = vec![
        ("assessed_on", &on),
        ("a_puntualita", "4"),
        ("a_orari", "4"),
        ("a_regole", "4"),
        ("a_attrezzature", "4"),
        ("a_sicurezza", "3"),
    ];
    assert_eq!(tutor.post(&format!("/interventi/{id}/schede/post"), &abc).await.status, StatusCode::SEE_OTHER);
    let a = app.actor("anna").await;
    let d = app.svc.intervention(&a, id).await.unwrap();
    let scores = &d.forms[0].scores;
    assert_eq!(scores.iter().find(|s| s.section == "A").unwrap().score, Some(19), "the tutor's observations are saved");
    assert_eq!(
        scores.iter().find(|s| s.section == "autonomia").unwrap().answered,
        1,
        "the case manager's answers are kept"
    );
    assert_eq!(d.intervention.illegal_substance_use, Some(true));
    // The case manager saving the form again never erases the tutor's observations, and may
    // not write them while the intervention has a tutor.
    let r =
        anna.post(&format!("/interventi/{id}/schede/post"), &[("assessed_on", on.as_str()), ("aut_denaro", "2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = anna
        .post(&format!("/interventi/{id}/schede/post"), &[("assessed_on", on.as_str()), ("a_puntualita", "1")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let d = app.svc.intervention(&a, id).await.unwrap();
    assert_eq!(d.forms[0].scores.iter().find(|s| s.section == "A").unwrap().score, Some(19), "tutor's A/B/C kept");
    let form = anna.get(&format!("/interventi/{id}/schede/post")).await.body;
    assert!(form.contains("Compilata dal tutor aziendale"), "the tutor's sections are read-only for the case manager");
    assert_eq!(tutor.get(&format!("/interventi/{id}/schede/pre")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(tutor.get(&format!("/persone/{person}")).await.status, StatusCode::FORBIDDEN);

    // The API gives a tutor the same restricted view and nothing else.
    let api = app.api_client("davide").await;
    let detail = api.get(&format!("/api/v1/tutor/interventions/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    let body = detail.body.to_lowercase();
    for hidden in ["relapse", "substance", "outcome", "evaluation", "autonomia", "monthly_amount"] {
        assert!(!body.contains(hidden), "tutor API shows {hidden}: {body}");
    }
    assert_eq!(api.get(&format!("/api/v1/interventions/{id}")).await.status, StatusCode::FORBIDDEN);
    // Another tutor's interventions are not there.
    let other = app.actor("anna").await;
    let demo_interventions = app.svc.due(&other).await.unwrap();
    let not_his = demo_interventions.iter().map(|d| d.intervention.id).find(|i| *i != id);
    if let Some(other_id) = not_his {
        let tutored: Vec<i64> = app.svc.tutored(&davide).await.unwrap().iter().map(|t| t.id).collect();
        if !tutored.contains(&other_id) {
            assert_eq!(tutor.get(&format!("/interventi/{other_id}")).await.status, StatusCode::NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn coordinator_plans_and_everyone_reads_the_programme() {
    let app = TestApp::new().await;
    let coord = app.login("coordinatore").await;
    let r = coord
        .post("/programmi", &[("name", "Inserimenti 2030"), ("start_date", "2030-01-01"), ("end_date", "2029-12-31")])
        .await;
    assert!(r.body.contains("Data di fine: non può essere precedente alla data di inizio"));
    let r = coord
        .post("/programmi", &[("name", "Inserimenti 2030"), ("start_date", "2030-01-01"), ("end_date", "2030-12-31")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let id = id_from_location(&r.location());
    let org = app.org_id("Il Faro").await.to_string();
    let r = coord
        .post(
            &format!("/programmi/{id}/partecipanti"),
            &[("organisation_id", &org), ("budget", "mille"), ("planned_socio_terapeutico", "2")],
        )
        .await;
    assert!(r.body.contains("Budget: «mille» non è un importo valido"));
    let r = coord
        .post(
            &format!("/programmi/{id}/partecipanti"),
            &[("organisation_id", &org), ("budget", "12.000,00"), ("planned_socio_terapeutico", "2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = coord.get(&format!("/programmi/{id}")).await.body;
    assert!(page.contains("€ 12.000,00") && page.contains("<svg"), "budget table and chart");
    // The programme's own rules are in force from its start, not from when they were typed in.
    let rules = page.split("id=\"s-rules\"").nth(1).and_then(|s| s.split("</section>").next()).expect("rules");
    assert!(rules.contains("01/01/2030"), "in force from the programme's start");
    let today = percorsi_service::today().format("%d/%m/%Y").to_string();
    assert!(!rules.contains(&today), "not the day they were recorded");
    let anna = app.login("anna").await;
    assert_eq!(
        anna.post("/programmi", &[("name", "X"), ("start_date", "2030-01-01"), ("end_date", "2030-12-31")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(anna.get(&format!("/programmi/{id}")).await.status, StatusCode::OK);
    let demo = app.svc.programmes(&app.actor("coordinatore").await).await.unwrap();
    assert!(demo.iter().any(|p| p.name == "Inserimenti lavorativi 2011–2012"), "the seed's programme is in the demo");
    // The coordinator's list of the organisation's interventions carries codes, not names.
    let list = coord.get("/interventi").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Interventi dell&#x27;ente") && list.body.contains("<code>"));
    let named = app.named_person("anna").await;
    assert!(!list.body.contains(named.surname.as_deref().unwrap()), "no names for coordinators");
    let api = app.api_client("coordinatore").await;
    let o = api.get(&format!("/api/v1/programmes/{}", demo[demo.len() - 1].id)).await.json();
    assert_eq!(o["balanced"], true);
}

#[tokio::test]
async fn demo_has_interventions_in_every_state_and_a_due_list() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let sara = app.actor("sara").await;
    let mut states = std::collections::BTreeSet::new();
    for a in [&anna, &sara] {
        for p in app.svc.followed(a).await.unwrap() {
            for i in app.svc.interventions_of_person(a, p.id).await.unwrap() {
                states.insert(i.status);
            }
        }
    }
    for s in ["proposto", "attivo", "sospeso", "prorogato", "concluso", "interrotto"] {
        assert!(states.contains(s), "no demo intervention is {s}: {states:?}");
    }
    let c = app.login("anna").await;
    let home = c.get("/home").await.body;
    assert!(home.contains("Cosa c&#x27;è da fare") && home.contains("Da attivare"), "due items on the home page");
}

/// Random sequences of activations, payments, prolongations and early ends on the real store:
/// after every step the stored ledger equals the in-memory model and balances.
#[tokio::test]
async fn ledger_invariant_holds_under_random_operations() {
    let app = TestApp::new().await;
    let p = programme(&app, "Programma casuale", "9.000").await;
    let anna = app.actor("anna").await;
    let coord = app.actor("coordinatore").await;
    let org = app.org_id("SerD Zona 1-MS").await;
    let people: Vec<i64> = app.svc.followed(&anna).await.unwrap().into_iter().map(|p| p.id).collect();
    // Work insertions are for people whose capacities were assessed (seed 001).
    for p in &people {
        app.svc.assess_capacities(&anna, *p, today() - Duration::days(10)).await.expect("assessed");
    }
    let host = app.org_id("Officine Apuane").await.to_string();
    // How often each path was taken, to be sure the sequences exercise refusals too.
    let (mut refused, mut paid, mut prolonged, mut ended) = (0, 0, 0, 0);
    for seed in 0..6u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut model = Model::default();
        model.budgets.insert(org, app.svc.programme_overview(&coord, p).await.unwrap().total.budget);
        // Replay what earlier seeds left in the ledger so the model starts where the store is.
        let before = app.svc.programme_overview(&coord, p).await.unwrap().total;
        let earlier = percorsi_domain::ledger::InterventionMoney {
            committed_total: before.committed_total,
            paid: before.paid,
            released: before.released,
        };
        model.interventions.insert(-1, (org, earlier));
        let mut ids: Vec<(i64, NaiveDate, u32, u32)> = Vec::new();
        for step in 0..30 {
            let op = rng.random_range(0..5);
            match op {
                0 => {
                    let months = rng.random_range(6..=9);
                    let start = today() - Duration::days(rng.random_range(60..200));
                    let end = start.checked_add_months(chrono::Months::new(months)).unwrap() - Duration::days(1);
                    let form = InterventionForm {
                        programme_id: p.to_string(),
                        intervention_type: "inserimento_lavorativo".into(),
                        host_organisation_id: host.clone(),
                        tutor_id: String::new(),
                        planned_start: iso(start),
                        planned_end: iso(end),
                        weekly_days: "5".into(),
                        weekly_hours: "20".into(),
                        monthly_amount: "300".into(),
                    };
                    let person = people[rng.random_range(0..people.len())];
                    let id = app.svc.create_intervention(&anna, person, &form).await.unwrap();
                    let cost = 30_000 * months as i64;
                    let expected = model.commit(org, id, cost);
                    let got = app
                        .svc
                        .transition(
                            &anna,
                            id,
                            &TransitionForm { transition: "attiva".into(), date: iso(start), ..Default::default() },
                        )
                        .await
                        .map(|_| ());
                    assert_eq!(
                        expected.is_ok(),
                        got.is_ok(),
                        "seed {seed} step {step}: activation {expected:?} vs {got:?}"
                    );
                    if got.is_ok() {
                        ids.push((id, start, months, 0));
                    } else {
                        refused += 1;
                        model.interventions.remove(&id);
                    }
                }
                1 | 2 if !ids.is_empty() => {
                    let k = rng.random_range(0..ids.len());
                    let (id, start, months, paid_months) = ids[k];
                    let amount = if rng.random_bool(0.8) { 30_000 } else { rng.random_range(1..30_000) };
                    let month =
                        start.checked_add_months(chrono::Months::new(paid_months)).unwrap().format("%Y-%m").to_string();
                    let got = app
                        .svc
                        .record_payment(
                            &anna,
                            id,
                            &PaymentForm { month, amount: format!("{},{:02}", amount / 100, amount % 100) },
                        )
                        .await
                        .map(|_| ());
                    let expected = if paid_months < months {
                        model.pay(id, amount)
                    } else {
                        Err(percorsi_domain::Invalid::one("month", "err-month-outside"))
                    };
                    assert_eq!(
                        expected.is_ok(),
                        got.is_ok(),
                        "seed {seed} step {step}: payment {expected:?} vs {got:?}"
                    );
                    if got.is_ok() {
                        ids[k].3 += 1;
                        paid += 1;
                    }
                }
                3 if !ids.is_empty() => {
                    let k = rng.random_range(0..ids.len());
                    let (id, start, months, _) = ids[k];
                    let extra = rng.random_range(1..=3);
                    let new_end =
                        start.checked_add_months(chrono::Months::new(months + extra)).unwrap() - Duration::days(1);
                    let got = app
                        .svc
                        .transition(
                            &anna,
                            id,
                            &TransitionForm {
                                transition: "proroga".into(),
                                date: iso(today()),
                                new_end: iso(new_end),
                                note: String::new(),
                            },
                        )
                        .await
                        .map(|_| ());
                    // The rule allows at most 14 months in all; within that, the budget decides.
                    let expected = if months + extra > 14 {
                        Err(percorsi_domain::Invalid::one("new_end", "err-duration-rule"))
                    } else {
                        model.commit(org, id, 30_000 * extra as i64)
                    };
                    assert_eq!(
                        expected.is_ok(),
                        got.is_ok(),
                        "seed {seed} step {step}: prolongation {expected:?} vs {got:?}"
                    );
                    if got.is_ok() {
                        ids[k].2 += extra;
                        prolonged += 1;
                    } else {
                        refused += 1;
                    }
                }
                4 if !ids.is_empty() => {
                    let k = rng.random_range(0..ids.len());
                    let (id, start, _, _) = ids.remove(k);
                    let c = ConclusionForm {
                        end_date: iso(today().max(start)),
                        outcome: "interrotto".into(),
                        interruption_reason: "abbandono_programma".into(),
                        evaluation: "negativa".into(),
                        ..Default::default()
                    };
                    app.svc.conclude(&anna, id, &c).await.unwrap();
                    model.release(id);
                    ended += 1;
                }
                _ => {}
            }
            let o = app.svc.programme_overview(&coord, p).await.unwrap();
            let expected = model.balance(org);
            assert_eq!(o.total, expected, "seed {seed} step {step}: stored ledger differs from the model");
            assert!(
                o.balanced && o.total.balances(),
                "seed {seed} step {step}: outstanding + paid + available ≠ budget"
            );
            assert!(o.total_available >= 0 && o.total_outstanding >= 0);
            let mut tx = app.svc.store().read().await.unwrap();
            let out_of_step = tx.counts_out_of_step().await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(out_of_step, Vec::<i64>::new(), "seed {seed} step {step}: running counts differ from the rows");
        }
    }
    assert!(
        refused > 0 && paid > 0 && prolonged > 0 && ended > 0,
        "refused {refused}, paid {paid}, prolonged {prolonged}, ended {ended}"
    );
}

#[tokio::test]
async fn attendance_is_recorded_only_for_months_the_intervention_ran() {
    use percorsi_domain::intervention::AttendanceForm;
    let app = TestApp::new().await;
    let davide = app.actor("davide").await;
    let list = app.svc.tutored(&davide).await.unwrap();
    let closed =
        list.iter().find(|t| t.actual_end.is_some()).expect("the demo has a concluded intervention davide tutors");
    let form = |month: &str| AttendanceForm {
        month: month.into(),
        days_planned: "20".into(),
        days_present: "18".into(),
        note: String::new(),
    };
    let far = app.svc.record_attendance(&davide, closed.id, &form("2031-01")).await;
    assert!(matches!(far, Err(percorsi_service::ServiceError::Invalid(_))), "a month after the end: {far:?}");
    let first = closed.actual_start.expect("started").format("%Y-%m").to_string();
    app.svc.record_attendance(&davide, closed.id, &form(&first)).await.expect("a month it ran");
    let running = list
        .iter()
        .find(|t| t.actual_end.is_none() && t.actual_start.is_some())
        .expect("the demo has a running intervention davide tutors");
    let next_year = (today() + Duration::days(366)).format("%Y-%m").to_string();
    let future = app.svc.record_attendance(&davide, running.id, &form(&next_year)).await;
    assert!(matches!(future, Err(percorsi_service::ServiceError::Invalid(_))), "a month to come: {future:?}");
}

/// Issue 13: the region reads budgets per funding source; every programme counts once, and the
/// totals are the sums of the programmes' own budgets.
#[tokio::test]
async fn budgets_add_up_per_funding_source() {
    let app = TestApp::new().await;
    let analyst = app.actor("analista").await;
    let grid = app.svc.budget_by_funding_source(&analyst).await.expect("budget");
    let programmes = app.svc.programmes(&analyst).await.expect("programmes");
    let mut allocated = 0;
    for p in &programmes {
        let o = app.svc.programme_overview(&analyst, p.id).await.expect("overview");
        allocated += o.total.budget;
    }
    let total = grid.rows.iter().position(|r| r.code == "totale").expect("total row");
    assert_eq!(grid.cells[total][0], percorsi_domain::report::Cell::Money(allocated));
    let sources: Vec<&str> = grid.rows.iter().map(|r| r.code.as_str()).collect();
    assert!(sources.contains(&"Fondo regionale dipendenze") && sources.contains(&"FSE+ Toscana"), "{sources:?}");
    let api = app.api_client("analista").await.get("/api/v1/programmes/budget").await;
    assert_eq!(api.status, axum::http::StatusCode::OK, "{}", api.body);
    let page = app.login("analista").await.get("/programmi").await;
    assert!(page.body.contains("Budget per fonte di finanziamento"), "the programmes page shows it");
    // A programme's source is set with the programme, and refused when too long.
    let coord = app.actor("coordinatore").await;
    let long = percorsi_domain::programme::ProgrammeForm {
        name: "Troppo lungo".into(),
        start_date: "2026-01-01".into(),
        end_date: "2026-12-31".into(),
        funding_source: "x".repeat(121),
    };
    let err = app.svc.create_programme(&coord, &long).await.expect_err("too long");
    assert!(matches!(err, percorsi_service::ServiceError::Invalid(ref i) if i.has("funding_source")));
}
