use crate::support::{id_from_location, TestApp};
use axum::http::StatusCode;

fn person<'a>(surname: &'a str, birth: &'a str, cm: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("surname", surname),
        ("name", "Giovanni"),
        ("birth_date", birth),
        ("sex", "M"),
        ("education", "media_inferiore"),
        ("start_date", "2026-01-15"),
        ("case_manager_id", cm),
        ("substance_start", "eroina"),
        ("substance_current", "alcol"),
        ("treatment_in_progress", "true"),
    ]
}

#[tokio::test]
async fn register_and_see_the_pathway() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let cm = anna.user_id.to_string();
    let c = app.login("anna").await;
    let form_page = c.get("/persone/nuova").await;
    assert_eq!(form_page.status, StatusCode::OK);
    assert!(form_page.body.contains("for=\"f-fiscal_code\""), "every field has a label");

    let mut f = person("Verdi", "1980-04-02", &cm);
    f.push(("fiscal_code", "VRDGNN80D02F023X"));
    let r = c.post("/persone", &f).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "wrong check character is refused");
    assert!(r.body.contains("Codice fiscale: il carattere di controllo non è corretto"), "field named in Italian");
    assert!(r.body.contains("value=\"Verdi\""), "input is kept");

    let cf = percorsi_domain::fiscal_code::compute(
        "Verdi",
        "Giovanni",
        chrono::NaiveDate::from_ymd_opt(1980, 4, 2).unwrap(),
        percorsi_domain::codes::Sex::Male,
        "F023",
    );
    let mut f = person("Verdi", "1980-04-02", &cm);
    f.push(("fiscal_code", &cf));
    let r = c.post("/persone", &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = id_from_location(&r.location());
    let page = c.get(&r.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Verdi Giovanni"));
    assert!(page.body.contains(&cf));
    assert!(page.body.contains("Persona registrata e presa in carico"));
    assert!(page.body.contains("Presa in carico aperta"), "timeline shows the episode");
    let home = c.get("/home").await.body;
    assert!(home.contains(&format!("/persone/{id}")), "the case manager's home lists the new person");

    // Contacts and profile can be corrected; the data behind the code cannot be changed here.
    let r = c
        .post(
            &format!("/persone/{id}/profilo"),
            &[("phone", "0585 123456"), ("email", "non-una-mail"), ("education", "laurea")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Email: non è un indirizzo email valido"));
    let r = c
        .post(
            &format!("/persone/{id}/profilo"),
            &[("phone", "0585 123456"), ("education", "laurea"), ("living_situation", "solo")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/persone/{id}")).await.body;
    assert!(page.contains("0585 123456") && page.contains("Laurea") && page.contains("Vive da solo"));

    // Registering the same person again in the same organisation leads to the existing record.
    let r = c.post("/persone", &person("VERDI", "1980-04-02", &cm)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(id_from_location(&r.location()), id);
    assert!(r.location().contains("already-followed"));
}

#[tokio::test]
async fn validation_messages_name_fields_in_both_languages() {
    let app = TestApp::new().await;
    let cm = app.actor("anna").await.user_id.to_string();
    let mut c = app.login("anna").await;
    let mut f = person("Neri", "2030-01-01", &cm);
    f.retain(|(k, _)| *k != "sex");
    let r = c.post("/persone", &f).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Data di nascita: non può essere nel futuro"), "{}", r.body);
    assert!(r.body.contains("Sesso: è obbligatorio"));
    assert!(r.body.contains("aria-invalid=\"true\""));
    c.lang = Some("en");
    let r = c.post("/persone", &f).await;
    assert!(r.body.contains("Birth date: cannot be in the future"), "English via the language switch");
    assert!(r.body.contains("Sex: is required"));
}

#[tokio::test]
async fn already_known_elsewhere_then_taken_in_charge() {
    let app = TestApp::new().await;
    let anna_cm = app.actor("anna").await.user_id.to_string();
    let sara_cm = app.actor("sara").await.user_id.to_string();
    let anna = app.login("anna").await;
    let r = anna.post("/persone", &person("Bassi", "1975-09-30", &anna_cm)).await;
    let id = id_from_location(&r.location());

    let sara = app.login("sara").await;
    assert_eq!(
        sara.get(&format!("/persone/{id}")).await.status,
        StatusCode::NOT_FOUND,
        "another organisation does not see the record"
    );
    let r = sara.post("/persone", &person("Bassi", "1975-09-30", &sara_cm)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Persona già nota nella rete"));
    assert!(!r.body.contains(&format!("/persone/{id}")), "no link to the other record");
    assert!(!r.body.contains("Anna Bianchi"), "nothing of the other record is revealed");

    // Taking in charge requires the same identity data, not just the code.
    let mut wrong = person("Bassi", "1975-09-29", &sara_cm);
    wrong.push(("anonymous", ""));
    let r = sara.post("/persone/presa-in-carico", &wrong).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = sara.post("/persone/presa-in-carico", &person("Bassi", "1975-09-30", &sara_cm)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(id_from_location(&r.location()), id);
    let page = sara.get(&format!("/persone/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Comunità terapeutica Il Faro") && page.body.contains("SerD Zona 1-MS"),
        "both episodes on the shared pathway"
    );
}

#[tokio::test]
async fn anonymous_registration_stores_no_identity() {
    let app = TestApp::new().await;
    let cm = app.actor("anna").await.user_id.to_string();
    let c = app.login("anna").await;
    let mut f = person("Segreti", "1990-02-02", &cm);
    f.push(("anonymous", "true"));
    f.push(("phone", "333 1234567"));
    let r = c.post("/persone", &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get(&r.location()).await.body;
    assert!(page.contains("Persona anonima"));
    assert!(!page.contains("Segreti") && !page.contains("333 1234567"), "no identity is shown or kept");
    let id = id_from_location(&r.location());
    let p = app.svc.pathway(&app.actor("anna").await, id).await.unwrap();
    assert!(p.identity.is_none());
    assert!(p.person.anonymous);
    assert_eq!(p.person.birth_year, Some(1990));

    // With nothing given at all, the code is random and still valid.
    let r = c.post("/persone", &[("anonymous", "true"), ("start_date", "2026-01-10"), ("case_manager_id", &cm)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn close_episode_validates_dates_and_team_can_be_managed() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let c = app.login("anna").await;
    let r = c.post("/persone", &person("Fabbri", "1984-06-06", &anna.user_id.to_string())).await;
    let id = id_from_location(&r.location());
    let p = app.svc.pathway(&anna, id).await.unwrap();
    let ep = p.manageable_episode.expect("anna manages the episode she opened");

    let r = c
        .post(&format!("/episodi/{ep}/chiusura"), &[("end_date", "2025-12-31"), ("closure", "obiettivi_raggiunti")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Data di fine: non può essere precedente alla data di inizio (15/01/2026)"),
        "{}",
        r.body.split("error-summary").nth(1).unwrap_or("")
    );

    let r = c.post(&format!("/episodi/{ep}/aggiornamento"), &[("substance_current", "metanfetamina")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Sostanza primaria attuale: «metanfetamina» non è tra i valori ammessi"));
    let r = c.post(&format!("/episodi/{ep}/aggiornamento"), &[("substance_current", "cocaina")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let updated = app.svc.pathway(&anna, id).await.unwrap();
    assert_eq!(updated.episodes[0].substance_current.as_deref(), Some("cocaina"));
    assert!(!updated.episodes[0].treatment_in_progress, "unchecked box means no treatment");

    let marco = app.svc.cli_membership("marco", None, None).await.unwrap();
    let r = c
        .post(
            &format!("/episodi/{ep}/equipe"),
            &[("membership_id", &marco.id.to_string()), ("function", "Operatore CPI")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/persone/{id}")).await.body;
    assert!(page.contains("Marco Ferri") && page.contains("Operatore CPI"));
    // The team member from the employment centre now sees the person.
    let m = app.login("marco").await;
    assert_eq!(m.get(&format!("/persone/{id}")).await.status, StatusCode::OK);

    let r = c
        .post(&format!("/episodi/{ep}/chiusura"), &[("end_date", "2026-02-01"), ("closure", "obiettivi_raggiunti")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        m.get(&format!("/persone/{id}")).await.status,
        StatusCode::NOT_FOUND,
        "closed episode: the team's access ends"
    );
    assert_eq!(c.get(&format!("/persone/{id}")).await.status, StatusCode::NOT_FOUND, "and so does the organisation's");
}

#[tokio::test]
async fn search_finds_by_name_and_code() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let c = app.login("anna").await;
    let r = c.post("/persone", &person("Zanetti", "1970-07-07", &anna.user_id.to_string())).await;
    let id = id_from_location(&r.location());
    let list = c.get("/persone?q=zanet").await.body;
    assert!(list.contains(&format!("/persone/{id}")));
    let code = app.svc.pathway(&anna, id).await.unwrap().person.code;
    let list = c.get(&format!("/persone?q={}", &code[..9])).await.body;
    assert!(list.contains(&format!("/persone/{id}")));
    let list = c.get("/persone?q=nessunocosi").await.body;
    assert!(list.contains("Nessuna persona trovata"));
}

#[tokio::test]
async fn a_section_that_cannot_be_read_fails_the_page_instead_of_showing_nothing() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let person = app.svc.followed(&anna).await.unwrap()[0].id;
    let browser = app.login("anna").await;
    assert_eq!(browser.get(&format!("/persone/{person}")).await.status, StatusCode::OK);
    // The placements can no longer be read (as with a broken table or a lost connection).
    crate::support::sqlx_exec(&app.svc.store().clone(), "ALTER TABLE placements RENAME TO placements_gone").await;
    let r = browser.get(&format!("/persone/{person}")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "an error the user sees, not an empty section");
    assert!(r.body.contains("errore interno"), "{}", r.body);
}

/// Rectification (GDPR art. 16): the identity is corrected by the organisation in charge, the
/// code is derived again, every link stays, the old data still find the same person ("già
/// noto"), and the trail says what changed without the values.
#[tokio::test]
async fn a_rectified_identity_keeps_every_link_and_the_old_data_still_find_the_person() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let api = app.api_client("anna").await;
    let registration = crate::support::nth_registration(anna.user_id, "Rosini", 7);
    let r = api.json("POST", "/api/v1/persons", registration.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (id, old_code) =
        (r.json()["person_id"].as_i64().expect("id"), r.json()["code"].as_str().expect("code").to_string());
    let before = app.svc.pathway(&anna, id).await.expect("pathway");
    let person = &registration["person"];
    let fix = |surname: &str, reason: &str| {
        serde_json::json!({"surname": surname, "name": person["name"], "birth_date": person["birth_date"],
                           "sex": person["sex"], "fiscal_code": "", "reason": reason})
    };
    let path = format!("/api/v1/persons/{id}/rectification");

    // Bad input: the reason is required; the same data is nothing to rectify.
    let r = api.json("POST", &path, fix("Rossini", "")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("reason"), "names the field: {}", r.body);
    let r = api.json("POST", &path, fix("Rosini", "verificato su documento")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("nothing to rectify"), "{}", r.body);
    // Another organisation's case manager is not in charge of this person.
    let other = app.api_client("giulia").await.json("POST", &path, fix("Rossini", "tentativo")).await;
    assert!(matches!(other.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{}", other.body);

    let r = api.json("POST", &path, fix("Rossini", "cognome trascritto male, verificato su documento")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let done = r.json();
    let new_code = done["code"].as_str().expect("code").to_string();
    assert_ne!(new_code, old_code, "the code is derived again from the corrected data");
    assert_eq!(done["previous_code"], old_code.as_str());
    assert_eq!(done["changed"], serde_json::json!(["surname"]));

    let after = app.svc.pathway(&anna, id).await.expect("pathway");
    assert_eq!(after.identity.as_ref().map(|i| i.surname.as_str()), Some("Rossini"));
    assert_eq!(after.person.code, new_code);
    let episodes = |p: &percorsi_service::pathway::Pathway| p.episodes.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(episodes(&after), episodes(&before), "every episode stays linked");

    // Registering the person again, with the old data or the new, finds the same record.
    for surname in ["Rosini", "Rossini"] {
        let mut again = registration.clone();
        again["person"]["surname"] = surname.into();
        let r = api.json("POST", "/api/v1/persons", again).await;
        assert_eq!(r.json()["outcome"], "already_followed", "{surname}: {}", r.body);
        assert_eq!(r.json()["person_id"], id, "{surname}");
    }
    // Rectifying into another person's data would merge two records: refused.
    let r = api.json("POST", "/api/v1/persons", crate::support::nth_registration(anna.user_id, "Verdi", 8)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let taken = serde_json::json!({"surname": "Verdi", "name": "Serie", "birth_date": crate::support::nth_registration(0, "x", 8)["person"]["birth_date"],
                                   "sex": "F", "fiscal_code": "", "reason": "prova"});
    let r = api.json("POST", &path, taken).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("another person"), "{}", r.body);

    // The trail: what changed and why, the codes, never the names.
    let auditor = app.actor("auditor").await;
    let q = percorsi_service::audit::AuditQuery { entity: format!("person:{id}"), ..Default::default() };
    let rows = app.svc.audit_trail(&auditor, &q, None).await.expect("trail");
    let entry = rows.iter().find(|r| r.entry.action == "rectify").expect("the rectification is audited");
    let detail = entry.entry.detail.clone().unwrap_or_default();
    assert!(detail.contains(&old_code) && detail.contains(&new_code) && detail.contains("surname"), "{detail}");
    assert!(!detail.contains("Rosini") && !detail.contains("Rossini"), "no identity value in the trail: {detail}");

    // The page's form does the same, with the answer in Italian.
    let page = app.login("anna").await;
    let r = page
        .post(
            &format!("/persone/{id}/rettifica"),
            &[
                ("surname", "Rossi"),
                ("name", "Serie"),
                ("birth_date", person["birth_date"].as_str().expect("date")),
                ("sex", "F"),
                ("fiscal_code", ""),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the reason is required on the page too");
    assert!(r.body.contains("Motivo"), "the field is named");
}

/// The person's copy of their data (GDPR art. 15 and 20): every category, nothing of anyone
/// else, who accessed the record; as JSON from the API and as a printable page; produced by the
/// organisation in charge only, and on the audit trail.
#[tokio::test]
async fn the_copy_of_a_persons_data_holds_every_category_and_nothing_of_anyone_else() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let followed = app.svc.followed(&anna).await.expect("followed");
    // The demo person anna follows with the fullest record.
    let mut best = None;
    for p in &followed {
        let e = app.svc.person_export(&anna, p.id).await.expect("export");
        let parts = [!e.interventions.is_empty(), !e.projects.is_empty(), !e.pathway.consents.is_empty()];
        let score = parts.iter().filter(|b| **b).count();
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, e));
        }
    }
    let (score, first) = best.expect("anna follows people");
    assert_eq!(score, 3, "the demo has someone with interventions, a project and consents");
    let id = first.pathway.person.id;
    // Produced again, the copy lists the reads the first one made.
    let export = app.svc.person_export(&anna, id).await.expect("export");
    assert!(export.interventions.iter().all(|i| i.intervention.person_id == id));
    assert!(export.interventions.iter().any(|i| !i.forms.is_empty() || !i.payments.is_empty() || !i.events.is_empty()));
    assert!(export.projects.iter().all(|p| p.project.person_id == id));
    assert!(export.referrals.iter().all(|r| r.person_id == id));
    assert!(export.placements.iter().all(|p| p.person_id == id));
    assert!(export.accesses.iter().any(|a| a.action == "read"), "who accessed the record");
    assert!(export.accesses.iter().all(|a| a.organisation.is_some() || a.role.is_none()));
    let json = serde_json::to_string(&export).expect("json");
    for other in followed.iter().filter(|p| p.id != id) {
        assert!(!json.contains(&other.code), "another person's code ({}) is in the copy", other.code);
        if let Some(surname) = other.surname.as_deref().filter(|s| s.len() > 3) {
            let own = export.pathway.identity.as_ref().map(|i| i.surname.as_str());
            if own != Some(surname) {
                assert!(
                    !json.contains(&format!("\"{surname}\"")),
                    "another person's surname ({surname}) is in the copy"
                );
            }
        }
    }
    assert!(!json.contains("\"username\""), "colleagues appear by organisation and role, not by name");

    // The API gives the same as a file; the page prints it in Italian.
    let r = app.api_client("anna").await.get(&format!("/api/v1/persons/{id}/export")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.header("content-disposition").is_some_and(|d| d.contains("attachment")));
    assert_eq!(r.json()["pathway"]["person"]["id"], id);
    let page = app.login("anna").await.get(&format!("/persone/{id}/copia-dati")).await;
    assert_eq!(page.status, StatusCode::OK);
    for heading in
        ["Copia dei dati della persona", "Interventi", "Chi ha consultato la scheda", "Progetti personalizzati"]
    {
        assert!(page.body.contains(heading), "{heading}");
    }

    // Only the organisation in charge produces it.
    for user in ["giulia", "analista", "admin"] {
        let r = app.api_client(user).await.get(&format!("/api/v1/persons/{id}/export")).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{user}: {}", r.status);
    }
    // And producing it is on the trail.
    let auditor = app.actor("auditor").await;
    let q = percorsi_service::audit::AuditQuery { entity: format!("person:{id}"), ..Default::default() };
    let rows = app.svc.audit_trail(&auditor, &q, None).await.expect("trail");
    assert!(rows.iter().any(|r| r.entry.action == "export" && r.entry.username == "anna"));
}

/// Erasure on request (GDPR art. 17): refused while another organisation has the person in
/// care; then the identity and every code derived from it go, care goes on anonymously, and
/// the same identity registered again is a new person, linked to nothing.
#[tokio::test]
async fn erasure_on_request_removes_the_identity_and_keeps_the_anonymous_pathway() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let sara = app.actor("sara").await;
    let api = app.api_client("anna").await;
    let registration = crate::support::nth_registration(anna.user_id, "Obliati", 41);
    let r = api.json("POST", "/api/v1/persons", registration.clone()).await;
    let id = r.json()["person_id"].as_i64().expect("id");
    let old_code = r.json()["code"].as_str().expect("code").to_string();
    let path = format!("/api/v1/persons/{id}/erasure");

    let r = api.json("POST", &path, serde_json::json!({"request": ""})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("request"), "names the field: {}", r.body);

    // Another organisation takes the person in charge: it needs the identity, erasure waits.
    let mut theirs = registration.clone();
    theirs["episode"]["case_manager_id"] = sara.user_id.to_string().into();
    let r = app.api_client("sara").await.json("POST", "/api/v1/persons/take-in-charge", theirs).await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = api.json("POST", &path, serde_json::json!({"request": "richiesta scritta del 12/03"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("Another organisation still has the person in care"), "{}", r.body);
    let sara_episode = app
        .svc
        .pathway(&sara, id)
        .await
        .expect("pathway")
        .episodes
        .iter()
        .find(|e| e.organisation_id == sara.organisation_id && e.end_date.is_none())
        .expect("sara's episode")
        .id;
    let close = serde_json::json!({"end_date": "2026-11-20", "closure": "trasferimento_altro_servizio"});
    let r = app.api_client("sara").await.json("POST", &format!("/api/v1/episodes/{sara_episode}/close"), close).await;
    assert!(r.status.is_success(), "{}", r.body);

    let r = api.json("POST", &path, serde_json::json!({"request": "richiesta scritta del 12/03"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new_code = r.json()["code"].as_str().expect("code").to_string();
    assert_ne!(new_code, old_code);

    // Care goes on, anonymously; the old code finds nobody; the same identity is someone new.
    let p = app.svc.pathway(&anna, id).await.expect("still in anna's care");
    assert!(p.person.anonymous && p.identity.is_none());
    assert!(p.episodes.iter().any(|e| e.organisation_id == anna.organisation_id && e.end_date.is_none()));
    let mut tx = app.svc.store().read().await.expect("read");
    assert_eq!(tx.person_id_by_code(&old_code).await.expect("lookup"), None);
    tx.commit().await.expect("commit");
    let r = api.json("POST", "/api/v1/persons", registration).await;
    assert_eq!(r.json()["outcome"], "created", "{}", r.body);
    assert_ne!(r.json()["person_id"], id);
    // Nothing more to erase; the trail has the request, not the old code.
    let r = api.json("POST", &path, serde_json::json!({"request": "di nuovo"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let auditor = app.actor("auditor").await;
    let q = percorsi_service::audit::AuditQuery { entity: format!("person:{id}"), ..Default::default() };
    let rows = app.svc.audit_trail(&auditor, &q, None).await.expect("trail");
    let e = rows.iter().find(|r| r.entry.action == "erase").expect("audited");
    let detail = e.entry.detail.clone().unwrap_or_default();
    assert!(detail.contains(&new_code) && !detail.contains(&old_code) && !detail.contains("Obliati"), "{detail}");
}

/// Restriction of processing (GDPR art. 18): the record stays readable and in every report,
/// leaves the working lists, and nothing about the person changes — through any use case, and
/// not even through SQL written by hand — until the restriction is lifted. Revoking a consent
/// stays possible.
#[tokio::test]
async fn a_restricted_record_is_read_and_reported_but_neither_changed_nor_listed() {
    use percorsi_service::store::raw_execute;
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let api = app.api_client("anna").await;
    let running = app
        .svc
        .organisation_interventions(&anna)
        .await
        .expect("interventions")
        .into_iter()
        .find(|i| i.status == "attivo")
        .expect("the demo has a running intervention");
    let (id, intervention) = (running.person_id, running.id);
    // A consent the person can revoke while restricted.
    let social = app.org_id("Servizio sociale").await.to_string();
    let consent = serde_json::json!({"organisation_id": social, "purpose": "progetto_personalizzato", "start_date": "2026-02-10"});
    let r = api.json("POST", &format!("/api/v1/persons/{id}/consents"), consent.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let consent_id = r.json()["id"].as_i64().expect("consent id");
    let reports_before = crate::retention::every_report(&app).await;
    let path = format!("/api/v1/persons/{id}/restriction");

    let r = api.json("POST", &path, serde_json::json!({"reason": " "})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("reason"), "names the field: {}", r.body);
    // Only the organisation in charge restricts.
    for user in ["sara", "analista", "admin"] {
        let r = app.api_client(user).await.json("POST", &path, serde_json::json!({"reason": "x"})).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{user}: {}", r.status);
    }
    let r = api
        .json("POST", &path, serde_json::json!({"reason": "contesta l'esattezza dei dati, richiesta del 12/03"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = api.json("POST", &path, serde_json::json!({"reason": "di nuovo"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // Out of the working lists, found where restricted people are listed, readable.
    let listed = |v: serde_json::Value| v.as_array().expect("list").iter().any(|p| p["id"] == id);
    assert!(!listed(api.get("/api/v1/persons").await.json()), "left out of the people list");
    assert!(!app.svc.followed(&anna).await.expect("followed").iter().any(|p| p.id == id));
    assert!(!app.svc.due(&anna).await.expect("due").iter().any(|d| d.intervention.person_id == id));
    assert!(listed(api.get("/api/v1/persons/restricted").await.json()));
    let r = api.get(&format!("/api/v1/persons/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["restriction"]["reason"].as_str().is_some_and(|s| s.contains("esattezza")));
    let page = app.login("anna").await.get(&format!("/persone/{id}")).await;
    assert!(page.body.contains("Trattamento limitato dal"), "the page says so");
    let list = app.login("anna").await.get("/persone").await;
    assert!(list.body.contains(&format!("/persone/{id}\"")), "listed under restricted processing");

    // Every change is refused with a message that says why.
    // A month of the intervention not paid yet.
    let detail = app.svc.intervention(&anna, intervention).await.expect("intervention");
    let start = running.actual_start.unwrap_or(running.planned_start);
    let month = (0..24)
        .filter_map(|n| start.checked_add_months(chrono::Months::new(n)))
        .take_while(|d| d.format("%Y-%m").to_string() <= running.planned_end.format("%Y-%m").to_string())
        .map(|d| d.format("%Y-%m").to_string())
        .find(|m| !detail.payments.iter().any(|p| &p.month == m))
        .expect("a month left to pay");
    let attempts = [
        (
            "POST",
            format!("/api/v1/interventions/{intervention}/payments"),
            serde_json::json!({"month": month, "amount": "10"}),
        ),
        (
            "POST",
            format!("/api/v1/interventions/{intervention}/transitions"),
            serde_json::json!({"transition": "sospendi", "date": percorsi_service::today().to_string()}),
        ),
        ("PATCH", format!("/api/v1/persons/{id}"), serde_json::json!({"citizenship": "Italiana"})),
        ("POST", format!("/api/v1/persons/{id}/consents"), consent),
        ("POST", format!("/api/v1/persons/{id}/erasure"), serde_json::json!({"request": "richiesta del 13/03"})),
    ];
    for (method, url, body) in &attempts {
        let r = api.json(method, url, body.clone()).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{method} {url}: {}", r.body);
        assert!(r.body.contains("restrict"), "{method} {url}: {}", r.body);
    }
    // The database itself refuses, whoever writes.
    for sql in [
        format!("UPDATE interventions SET weekly_hours = 1 WHERE id = {intervention}"),
        format!("UPDATE persons SET citizenship = 'X' WHERE id = {id}"),
        format!("UPDATE person_identities SET phone = '1' WHERE person_id = {id}"),
    ] {
        let e = raw_execute(app.svc.store(), &sql).await.expect_err(&sql);
        assert!(matches!(e, percorsi_service::store::StoreError::Restricted), "{sql}: {e}");
    }
    // The person may still revoke a consent.
    let r =
        api.json("POST", &format!("/api/v1/persons/{id}/consents/{consent_id}/revoke"), serde_json::json!({})).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(crate::retention::every_report(&app).await, reports_before, "reports do not change");

    // Lifted with a reason, the record changes again and is listed again.
    let lift = format!("{path}/lift");
    let r = api.json("POST", &lift, serde_json::json!({"reason": ""})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = api.json("POST", &lift, serde_json::json!({"reason": "dati verificati"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = api.json("POST", &lift, serde_json::json!({"reason": "di nuovo"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let (method, url, body) = &attempts[0];
    let r = api.json(method, url, body.clone()).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(listed(api.get("/api/v1/persons").await.json()));
    let auditor = app.actor("auditor").await;
    let q = percorsi_service::audit::AuditQuery { entity: format!("person:{id}"), ..Default::default() };
    let rows = app.svc.audit_trail(&auditor, &q, None).await.expect("trail");
    for action in ["restrict", "lift_restriction"] {
        assert!(rows.iter().any(|r| r.entry.action == action), "{action} audited");
    }
}
