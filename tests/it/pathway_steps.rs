//! The pathway's daily steps (issue 15): operator notes read only as far as their author
//! chose, relapses as dated events that reach table 5, the eligibility of a work insertion,
//! and a case transferred to a colleague and to another organisation.

use crate::support::{id_from_location, TestApp};
use axum::http::StatusCode;
use serde_json::json;

fn day(d: i64) -> String {
    (percorsi_service::today() + chrono::Duration::days(d)).format("%Y-%m-%d").to_string()
}

/// A person Anna registers (SerD Zona 1-MS), with identity.
async fn annas_new_person(app: &TestApp, surname: &str) -> i64 {
    let cm = app.actor("anna").await.user_id.to_string();
    let r = app
        .login("anna")
        .await
        .post(
            "/persone",
            &[
                ("surname", surname),
                ("name", "Carla"),
                ("birth_date", "1982-06-06"),
                ("sex", "F"),
                ("fiscal_code", ""),
                ("start_date", &day(-100)),
                ("case_manager_id", &cm),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    id_from_location(&r.location())
}

#[tokio::test]
async fn a_note_is_read_only_as_far_as_its_author_chose() {
    let app = TestApp::new().await;
    let person = annas_new_person(&app, "Notarbartolo").await;
    let anna = app.login("anna").await;
    for (visibility, body) in [
        ("equipe", "Per l'équipe: colloquio andato bene"),
        ("ente", "Per il SerD: rivedere la terapia"),
        ("autore", "Promemoria mio: chiamare la sorella"),
    ] {
        let r = anna
            .post(
                &format!("/persone/{person}/note"),
                &[("note_date", &day(0)), ("visibility", visibility), ("body", body)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    // A note dated tomorrow, without text, or for nobody known is refused, naming the fields.
    let r = anna
        .post(&format!("/persone/{person}/note"), &[("note_date", &day(1)), ("visibility", "tutti"), ("body", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["Data", "Chi può leggerla", "Testo"] {
        assert!(r.body.contains(field), "{field} named");
    }
    let page = anna.get(&format!("/persone/{person}")).await.body;
    for text in ["colloquio andato bene", "rivedere la terapia", "chiamare la sorella"] {
        assert!(page.contains(text), "the author reads {text}");
    }

    // Paola (another organisation) sees the person by consent: no note at all.
    let paola_actor = app.actor("paola").await;
    let consent = json!({"organisation_id": paola_actor.organisation_id.to_string(), "purpose": "presa_in_carico_condivisa", "start_date": day(-1)});
    let r = app.api_client("anna").await.json("POST", &format!("/api/v1/persons/{person}/consents"), consent).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let paola = app.api_client("paola").await;
    let notes = paola.get(&format!("/api/v1/persons/{person}/notes")).await;
    assert_eq!(notes.status, StatusCode::OK, "{}", notes.body);
    assert_eq!(notes.json().as_array().map(Vec::len), Some(0), "another organisation reads none: {}", notes.body);
    assert!(!app.login("paola").await.get(&format!("/persone/{person}")).await.body.contains("colloquio andato bene"));

    // On the person's care team, Paola reads the team's note, and only that one.
    let ep =
        app.svc.pathway(&app.actor("anna").await, person).await.expect("pathway").manageable_episode.expect("episode");
    let r = anna
        .post(
            &format!("/episodi/{ep}/equipe"),
            &[("membership_id", &paola_actor.membership_id.to_string()), ("function", "Educatrice")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let notes = paola.get(&format!("/api/v1/persons/{person}/notes")).await.json();
    let bodies: Vec<&str> = notes.as_array().expect("list").iter().filter_map(|n| n["body"].as_str()).collect();
    assert_eq!(bodies, vec!["Per l'équipe: colloquio andato bene"]);

    // Search: Anna finds her own note by a word; Paola does not find what she may not read.
    let found = app.api_client("anna").await.get("/api/v1/notes?q=sorella").await.json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["person_name"], "Notarbartolo Carla");
    assert_eq!(paola.get("/api/v1/notes?q=sorella").await.json().as_array().map(Vec::len), Some(0));
    assert!(anna.get("/note?q=terapia").await.body.contains("rivedere la terapia"), "the notes page searches");

    // Coordinators and analysts read no notes (free text may name the person).
    assert_eq!(
        app.api_client("coordinatore").await.get(&format!("/api/v1/persons/{person}/notes")).await.status,
        StatusCode::FORBIDDEN
    );

    // A restricted record takes no new note; erasure of the identity takes the notes away.
    let r = anna
        .post(&format!("/persone/{person}/limitazione"), &[("reason", "La persona contesta l'esattezza dei dati")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app
        .api_client("anna")
        .await
        .json(
            "POST",
            &format!("/api/v1/persons/{person}/notes"),
            json!({"note_date": day(0), "visibility": "ente", "body": "dopo"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

#[tokio::test]
async fn a_relapse_is_dated_counted_and_seen_in_table_5() {
    let app = TestApp::new().await;
    let anna_actor = app.actor("anna").await;
    let running = app
        .svc
        .organisation_interventions(&anna_actor)
        .await
        .expect("list")
        .into_iter()
        .find(|i| i.status == "attivo")
        .expect("a running intervention");
    // No relapse counted yet (as the monitoring form records it).
    let r = app
        .api_client("anna")
        .await
        .json("PUT", &format!("/api/v1/interventions/{}/monitoring", running.id), json!({"relapse_count": "0"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let coord = app.api_client("coordinatore").await;
    // The coordinator reads her own organisation's records, exactly: SerD Zona 1-MS is the SerD column.
    let org = "ausl_serd";
    let table5 = |report: serde_json::Value| -> (i64, i64) {
        let grid = &report["tables"][0]["grids"][0];
        let col = grid["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .position(|c| c["code"] == org)
            .unwrap_or_else(|| panic!("own column {org}: {}", grid["columns"]));
        let cell = |code: &str| {
            let row = grid["rows"].as_array().expect("rows").iter().find(|r| r["code"] == code).expect(code).clone();
            row["cells"][col]["value"].as_i64().unwrap_or(0)
        };
        (cell("1_3"), cell("mancante") + cell("nessuna"))
    };
    let url = |p: i64| format!("/api/v1/reports?programme_id={p}&table=5");
    let detail = app.api_client("anna").await.get(&format!("/api/v1/interventions/{}", running.id)).await.json();
    let programme = detail["intervention"]["programme_id"].as_i64().expect("programme");
    let before_count = detail["intervention"]["relapse_count"].as_i64().unwrap_or(0);
    assert_eq!(before_count, 0, "the demo's running intervention has no relapses yet");
    let before = table5(coord.get(&url(programme)).await.json());

    let anna = app.api_client("anna").await;
    let bad = anna
        .json("POST", &format!("/api/v1/interventions/{}/relapses", running.id), json!({"relapse_date": day(1)}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("relapse_date"));
    let r = anna
        .json("POST", &format!("/api/v1/interventions/{}/relapses", running.id), json!({"relapse_date": day(-3), "substance": "alcol", "context": "Festa di famiglia", "response": "Colloquio il giorno dopo"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let detail = anna.get(&format!("/api/v1/interventions/{}", running.id)).await.json();
    assert_eq!(detail["intervention"]["relapse_count"].as_i64(), Some(before_count + 1));
    assert_eq!(detail["relapses"][0]["relapse_date"], day(-3));
    assert_eq!(detail["relapses"][0]["substance"], "alcol");
    let page = app.login("anna").await.get(&format!("/interventi/{}", running.id)).await.body;
    assert!(page.contains("Festa di famiglia") && page.contains("Colloquio il giorno dopo"), "shown with its date");

    let after = table5(coord.get(&url(programme)).await.json());
    assert_eq!(after.0, before.0 + 1, "one more intervention with 1–3 relapses");
    assert_eq!(after.1, before.1 - 1, "one fewer without (or with unknown) relapses");
    // The count can no longer be set below the dated relapses.
    let r = anna
        .json("PUT", &format!("/api/v1/interventions/{}/monitoring", running.id), json!({"relapse_count": "0"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("relapse_count"));
}

#[tokio::test]
async fn a_work_insertion_is_refused_until_capacities_are_assessed() {
    let app = TestApp::new().await;
    let person = annas_new_person(&app, "Senzavalutazione").await;
    let actor = app.actor("anna").await;
    let programme = app
        .svc
        .programmes(&actor)
        .await
        .expect("programmes")
        .into_iter()
        .find(|p| p.end_date >= percorsi_service::today())
        .expect("a current programme")
        .id;
    let host = app.org_id("Officine Apuane").await.to_string();
    let start = percorsi_service::today() - chrono::Duration::days(5);
    let end = start.checked_add_months(chrono::Months::new(6)).expect("end") - chrono::Duration::days(1);
    let fields = [
        ("programme_id", programme.to_string()),
        ("intervention_type", "inserimento_lavorativo".to_string()),
        ("host_organisation_id", host),
        ("tutor_id", String::new()),
        ("planned_start", start.format("%Y-%m-%d").to_string()),
        ("planned_end", end.format("%Y-%m-%d").to_string()),
        ("weekly_days", "5".into()),
        ("weekly_hours", "20".into()),
        ("monthly_amount", "300".into()),
    ];
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = app.login("anna").await;
    let r = page.post(&format!("/persone/{person}/interventi"), &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("valutazione multidimensionale"), "the refusal says what is missing");
    // Once assessed, the same proposal goes through.
    app.svc
        .assess_capacities(&actor, person, percorsi_service::today() - chrono::Duration::days(2))
        .await
        .expect("assessed");
    let r = page.post(&format!("/persone/{person}/interventi"), &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn a_case_moves_to_a_colleague_and_to_another_organisation_once_accepted() {
    let app = TestApp::new().await;
    let person = annas_new_person(&app, "Trasferita").await;
    let anna_actor = app.actor("anna").await;
    let episode = app.svc.pathway(&anna_actor, person).await.expect("pathway").manageable_episode.expect("episode");
    let luca = app.actor("luca").await;
    let giulia = app.actor("giulia").await;
    let anna = app.login("anna").await;

    // Towards Luca's organisation: refused without the person's agreement or a handover note.
    let r = anna
        .post(
            &format!("/episodi/{episode}/trasferimento"),
            &[("to_organisation_id", &luca.organisation_id.to_string()), ("handover", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Nota di passaggio") && r.body.contains("accordo"), "both named");
    let r = anna
        .post(
            &format!("/episodi/{episode}/trasferimento"),
            &[
                ("to_organisation_id", &luca.organisation_id.to_string()),
                ("handover", "In carico da marzo, segue il gruppo del martedì"),
                ("person_agrees", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Nothing changed yet: Luca's organisation sees the handover and the code, not the record.
    let luca_page = app.login("luca").await;
    assert_eq!(luca_page.get(&format!("/persone/{person}")).await.status, StatusCode::NOT_FOUND);
    let triage = luca_page.get("/segnalazioni").await.body;
    assert!(triage.contains("segue il gruppo del marted"), "handover shown: {triage}");
    assert!(!triage.contains("Trasferita"), "no name");
    let transfer =
        app.api_client("luca").await.get("/api/v1/transfers").await.json()[0]["id"].as_i64().expect("transfer");
    // A second transfer of the same episode while one waits is refused.
    let again = app
        .api_client("anna")
        .await
        .json("POST", &format!("/api/v1/episodes/{episode}/transfers"), json!({"to_organisation_id": giulia.organisation_id.to_string(), "handover": "altro", "person_agrees": true}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // Luca accepts for Giulia: his organisation opens its episode, Anna's closes as transferred.
    let r = app
        .api_client("luca")
        .await
        .json(
            "POST",
            &format!("/api/v1/transfers/{transfer}/decision"),
            json!({"decision": "accettato", "case_manager_id": giulia.user_id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let pathway = app.svc.pathway(&luca, person).await.expect("now in Luca's organisation's care");
    let mine = pathway
        .episodes
        .iter()
        .find(|e| e.organisation_id == luca.organisation_id && e.end_date.is_none())
        .expect("open");
    assert_eq!(mine.case_manager_id, giulia.user_id);
    // Anna's organisation closed its episode today: the case has left her people (the record
    // stays readable to the end of the day its episode ended, as for any closed episode).
    assert!(!app.svc.followed(&anna_actor).await.expect("followed").iter().any(|p| p.id == person), "moved");
    let closed = app.svc.pathway(&anna_actor, person).await.expect("still readable today");
    let old = closed.episodes.iter().find(|e| e.id == episode).expect("old episode");
    assert_eq!(
        (old.end_date, old.closure.as_deref()),
        (Some(percorsi_service::today()), Some("trasferimento_altro_servizio"))
    );
    let sent = app.api_client("anna").await.get("/api/v1/transfers").await.json();
    assert_eq!(sent[0]["status"], "accettato", "{sent}");
    // Deciding twice: the second answer says it was already decided.
    let r = app
        .api_client("luca")
        .await
        .json("POST", &format!("/api/v1/transfers/{transfer}/decision"), json!({"decision": "rifiutato", "note": "no"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        app.login("anna").await.get("/notifiche").await.body.contains("ha accettato il caso"),
        "the sender is told"
    );

    // Within Luca's organisation: from Giulia to Luca, who alone may accept; the case
    // manager changes on the same episode.
    let new_episode = mine.id;
    let giulia_here =
        app.svc.cli_membership("giulia", Some(luca.organisation_id), None).await.expect("giulia at SerD 6-LI");
    let mut giulia_api = app.client();
    giulia_api.bearer = Some(app.svc.create_api_token(giulia_here.id, "test", 1).await.expect("token"));
    let r = giulia_api
        .json(
            "POST",
            &format!("/api/v1/episodes/{new_episode}/transfers"),
            json!({"to_organisation_id": luca.organisation_id.to_string(), "handover": "Ferie lunghe"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a colleague must be named: {}", r.body);
    let r = giulia_api
        .json("POST", &format!("/api/v1/episodes/{new_episode}/transfers"), json!({"to_organisation_id": luca.organisation_id.to_string(), "to_user_id": luca.user_id.to_string(), "handover": "Ferie lunghe: passa a Luca"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let inner = r.json()["id"].as_i64().expect("id");
    let r =
        giulia_api.json("POST", &format!("/api/v1/transfers/{inner}/decision"), json!({"decision": "accettato"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only the named colleague decides: {}", r.body);
    let r = app
        .api_client("luca")
        .await
        .json("POST", &format!("/api/v1/transfers/{inner}/decision"), json!({"decision": "accettato"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let pathway = app.svc.pathway(&luca, person).await.expect("pathway");
    let ep = pathway.episodes.iter().find(|e| e.id == new_episode).expect("episode");
    assert_eq!((ep.case_manager_id, ep.end_date), (luca.user_id, None), "same episode, new case manager");
}

/// An intervention recorded after it started shows its proposal first, never dated after the
/// activation (the demo records such interventions).
#[tokio::test]
async fn the_intervention_timeline_starts_with_its_proposal() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let mut checked = 0;
    for i in app.svc.organisation_interventions(&anna).await.expect("list") {
        let d = app.svc.intervention(&anna, i.id).await.expect("detail");
        let first = d.events.first().expect("events");
        assert_eq!(first.transition, "crea", "intervention {}: {:?}", i.id, d.events);
        let dates: Vec<_> = d.events.iter().map(|e| e.event_date).collect();
        assert!(dates.windows(2).all(|w| w[0] <= w[1]), "intervention {}: {dates:?}", i.id);
        checked += usize::from(d.events.len() > 1);
    }
    assert!(checked > 3, "interventions with a history: {checked}");
}

/// The sender may withdraw a transfer nobody has decided; the receiver then cannot accept it,
/// and a new transfer of the same episode can be proposed.
#[tokio::test]
async fn a_transfer_not_yet_decided_can_be_withdrawn() {
    let app = TestApp::new().await;
    let person = annas_new_person(&app, "Ritirata").await;
    let episode =
        app.svc.pathway(&app.actor("anna").await, person).await.expect("pathway").manageable_episode.expect("episode");
    let luca = app.actor("luca").await;
    let anna = app.api_client("anna").await;
    let body = json!({"to_organisation_id": luca.organisation_id.to_string(), "handover": "Cambio di residenza", "person_agrees": true});
    let r = anna.json("POST", &format!("/api/v1/episodes/{episode}/transfers"), body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    assert!(app
        .login("anna")
        .await
        .get(&format!("/persone/{person}"))
        .await
        .body
        .contains(&format!("/trasferimenti/{id}/ritiro")));
    assert_eq!(
        anna.json("POST", &format!("/api/v1/transfers/{id}/withdrawal"), json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    let r = app
        .api_client("luca")
        .await
        .json("POST", &format!("/api/v1/transfers/{id}/decision"), json!({"decision": "accettato"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(
        anna.json("POST", &format!("/api/v1/transfers/{id}/withdrawal"), json!({})).await.status,
        StatusCode::CONFLICT
    );
    let r = anna.json("POST", &format!("/api/v1/episodes/{episode}/transfers"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "a new one after the withdrawal: {}", r.body);
}

/// Access and orientation before taking in charge (seed 003): a first contact registers the
/// person without an episode; the organisation sees them (and their name) for 90 days and can
/// take them in charge from their page; others see nothing; an access dated more than 90 days
/// ago shows nothing any more.
#[tokio::test]
async fn an_access_orients_a_person_without_taking_them_in_charge() {
    let app = TestApp::new().await;
    let anna = app.login("anna").await;
    let cpi = app.org_id("Centro per l'impiego").await.to_string();
    let fields = |surname: &'static str, date: String| {
        vec![
            ("surname", surname.to_string()),
            ("name", "Dario".to_string()),
            ("birth_date", "1990-01-01".to_string()),
            ("sex", "M".to_string()),
            ("step", "accesso".to_string()),
            ("access_date", date),
            ("channel", "spontaneo".to_string()),
            ("informazione", "true".to_string()),
            ("orientamento", "true".to_string()),
            ("outcome", "orientamento_altro_servizio".to_string()),
            ("oriented_to", cpi.clone()),
            ("access_note", "Cerca lavoro, nessuna richiesta di cura per ora".to_string()),
        ]
    };
    // Refused without saying where the person was oriented, naming the field.
    let mut wrong = fields("Accessini", day(0));
    wrong.retain(|(k, _)| *k != "oriented_to");
    let pairs: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = anna.post("/persone", &pairs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Orientata verso"), "the field is named");

    let ok = fields("Accessini", day(-2));
    let pairs: Vec<(&str, &str)> = ok.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = anna.post("/persone", &pairs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let person = id_from_location(&r.location());
    let page = anna.get(&r.location()).await.body;
    assert!(page.contains("Accessini Dario"), "the organisation sees the person it oriented");
    assert!(page.contains("senza presa in carico"), "the message says what happened");
    assert!(page.contains("orientata ad altro servizio") && page.contains("Centro per l"), "the access is shown");
    let actor = app.actor("anna").await;
    let pathway = app.svc.pathway(&actor, person).await.expect("visible by the access");
    assert!(pathway.episodes.is_empty() && pathway.manageable_episode.is_none(), "not in charge");
    assert!(
        !app.svc.followed(&actor).await.expect("followed").iter().any(|p| p.id == person),
        "not among Anna's people"
    );
    assert_eq!(app.login("luca").await.get(&format!("/persone/{person}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.api_client("luca").await.get(&format!("/api/v1/persons/{person}/accesses")).await.status,
        StatusCode::NOT_FOUND
    );
    // Taken in charge later from the page: the episode opens.
    let r = anna
        .post(
            &format!("/persone/{person}/episodi"),
            &[("start_date", &day(0)), ("case_manager_id", &actor.user_id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(app.svc.pathway(&actor, person).await.expect("pathway").manageable_episode.is_some());

    // An access recorded long ago no longer shows the person.
    let old = fields("Vecchioaccesso", day(-120));
    let pairs: Vec<(&str, &str)> = old.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = anna.post("/persone", &pairs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/persone?msg=access-registered-past", "told, not sent to a page that is gone");
    let list = anna.get("/persone?msg=access-registered-past").await.body;
    assert!(list.contains("più di 90 giorni") && !list.contains("Vecchioaccesso"), "90 days passed");
}

/// Someone known elsewhere comes for information only: the "già noto" answer, then the access
/// recorded with the same identity data (no care episode), and the person visible to the
/// organisation through it.
#[tokio::test]
async fn an_access_for_someone_known_elsewhere_goes_through_the_gia_noto_step() {
    let app = TestApp::new().await;
    let person = annas_new_person(&app, "Giànota").await;
    let luca = app.login("luca").await;
    let fields = [
        ("surname", "Giànota"),
        ("name", "Carla"),
        ("birth_date", "1982-06-06"),
        ("sex", "F"),
        ("step", "accesso"),
        ("access_date", &day(0)),
        ("channel", "spontaneo"),
        ("informazione", "true"),
        ("outcome", "solo_informazione"),
    ];
    let r = luca.post("/persone", &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("Registra l&#x27;accesso") || r.body.contains("Registra l'accesso"),
        "offers the access, not the presa in carico"
    );
    assert_eq!(luca.get(&format!("/persone/{person}")).await.status, StatusCode::NOT_FOUND, "nothing yet");
    let r = luca.post("/persone/presa-in-carico", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/persone/{person}?msg=access-saved"));
    let page = luca.get(&format!("/persone/{person}")).await.body;
    assert!(page.contains("solo informazione"), "the access is on the page");
    let luca_actor = app.actor("luca").await;
    let pathway = app.svc.pathway(&luca_actor, person).await.expect("visible by the access");
    assert!(pathway.episodes.is_empty(), "not taken in charge, and Anna's episode is not Luca's to see");
}
