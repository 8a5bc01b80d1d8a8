//! The access model of ADR 0003, case by case: each test is named after what it protects and
//! would have caught the escalation or leak issue 11 found.

use crate::support::{sqlx_exec, TestApp};
use axum::http::StatusCode;
use percorsi_domain::consent::ConsentForm;
use percorsi_domain::episode::{EpisodeForm, EpisodeUpdateForm};
use percorsi_domain::person::PersonForm;
use percorsi_service::audit::AuditQuery;
use percorsi_service::glass::{GlassForm, GlassReviewForm};
use percorsi_service::pathway::Registration;
use percorsi_service::{Actor, ServiceError};

fn person(surname: &str, birth: &str) -> PersonForm {
    PersonForm {
        surname: surname.into(),
        name: "Prova".into(),
        birth_date: birth.into(),
        sex: "M".into(),
        phone: "3331234567".into(),
        education: "media_inferiore".into(),
        work_history: "mai".into(),
        living_situation: "solo".into(),
        ..Default::default()
    }
}

fn episode(cm: &Actor) -> EpisodeForm {
    EpisodeForm {
        start_date: "2026-02-01".into(),
        case_manager_id: cm.user_id.to_string(),
        substance_start: "eroina".into(),
        substance_current: "eroina".into(),
        treatment_in_progress: true,
    }
}

/// A person registered by Anna (SerD Zona 1-MS) with substance data on her episode.
async fn registered_by_anna(app: &TestApp, surname: &str, birth: &str) -> i64 {
    let anna = app.actor("anna").await;
    match app.svc.register_person(&anna, &person(surname, birth), &episode(&anna)).await.unwrap() {
        Registration::Created { person_id, .. } => person_id,
        other => panic!("expected a new person, got {other:?}"),
    }
}

async fn consent(app: &TestApp, by: &Actor, person_id: i64, org: i64, purpose: &str) {
    let form = ConsentForm {
        organisation_id: org.to_string(),
        purpose: purpose.into(),
        start_date: "2026-02-01".into(),
        expiry_date: String::new(),
    };
    app.svc.record_consent(by, person_id, &form).await.unwrap();
}

#[tokio::test]
async fn taking_in_charge_opens_only_the_organisations_own_history_until_consent() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Storico", "1980-01-01").await;
    let luca = app.actor("luca").await;
    // Luca (SerD Zona 6-LI) knows the identity data and takes the person in charge.
    let taken = app.svc.take_in_charge(&luca, &person("Storico", "1980-01-01"), &episode(&luca)).await.unwrap();
    assert_eq!(taken, id);
    let p = app.svc.pathway(&luca, id).await.unwrap();
    assert!(!p.episodes.is_empty());
    assert!(
        p.episodes.iter().all(|e| e.organisation_id == luca.organisation_id),
        "another organisation's episode (substances, treatment) is hidden without consent: {:?}",
        p.episodes.iter().map(|e| &e.organisation_name).collect::<Vec<_>>()
    );
    let api = app.api_client("luca").await.get(&format!("/api/v1/persons/{id}")).await;
    assert_eq!(api.status, StatusCode::OK);
    let orgs: Vec<i64> = api.json()["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .filter_map(|e| e["organisation_id"].as_i64())
        .collect();
    assert_eq!(orgs, vec![luca.organisation_id], "the API shows the same");

    // The person consents to shared care with Luca's organisation: the whole pathway opens.
    consent(&app, &luca, id, luca.organisation_id, "presa_in_carico_condivisa").await;
    let p = app.svc.pathway(&luca, id).await.unwrap();
    let anna = app.actor("anna").await;
    assert!(p.episodes.iter().any(|e| e.organisation_id == anna.organisation_id), "consent opens the shared history");
}

#[tokio::test]
async fn a_work_insertion_consent_shows_no_health_data() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Lavoro", "1981-02-02").await;
    let anna = app.actor("anna").await;
    let marco = app.actor("marco").await; // operatore at the employment centre
    consent(&app, &anna, id, marco.organisation_id, "inserimento_lavorativo").await;
    let p = app.svc.pathway(&marco, id).await.unwrap();
    assert!(p.episodes.is_empty() && p.team.is_empty(), "no episode, substance or treatment is shown");
    assert_eq!(p.person.living_situation, None, "housing is not opened by a work consent");
    assert_eq!(p.person.user_class, None);
    assert!(p.person.education.is_some() && p.person.work_history.is_some(), "education and work are");
    let identity = p.identity.expect("identity is opened by a work consent");
    assert_eq!(identity.phone.as_deref(), Some("3331234567"));
    let body = app.login("marco").await.get(&format!("/persone/{id}")).await.body;
    assert!(!body.contains("Eroina") && !body.contains("eroina"), "no substance on the page");
    assert!(app.svc.person_assessments(&marco, id).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_the_organisation_in_charge_changes_the_profile() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Profilo", "1982-03-03").await;
    let anna = app.actor("anna").await;
    let paola = app.actor("paola").await; // social service, sees the person by consent
    consent(&app, &anna, id, paola.organisation_id, "progetto_personalizzato").await;
    let c = app.api_client("paola").await;
    let r = c.json("PATCH", &format!("/api/v1/persons/{id}"), serde_json::json!({"phone": "000"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.login("paola").await.post(&format!("/persone/{id}/profilo"), &[("phone", "000")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let form = ConsentForm {
        organisation_id: paola.organisation_id.to_string(),
        purpose: "presa_in_carico_condivisa".into(),
        start_date: "2026-02-01".into(),
        expiry_date: String::new(),
    };
    assert!(matches!(app.svc.record_consent(&paola, id, &form).await, Err(ServiceError::Forbidden)));
    let p = app.svc.pathway(&anna, id).await.unwrap();
    assert_eq!(p.identity.and_then(|i| i.phone).as_deref(), Some("3331234567"), "nothing changed");
}

#[tokio::test]
async fn an_administrator_cannot_grant_itself_a_role() {
    let app = TestApp::new().await;
    let admin = app.actor("admin").await;
    let serd = app.org_id("SerD Zona 1-MS").await.to_string();
    let c = app.api_client("admin").await;
    for role in ["case_manager", "auditor", "operatore"] {
        let r = c
            .json(
                "POST",
                &format!("/api/v1/users/{}/roles", admin.user_id),
                serde_json::json!({"organisation_id": serd, "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{role}: {}", r.body);
    }
    let page = app
        .login("admin")
        .await
        .post(
            &format!("/admin/utenti/{}/ruoli", admin.user_id),
            &[("organisation_id", &serd), ("role", "case_manager")],
        )
        .await;
    assert_ne!(page.status, StatusCode::SEE_OTHER, "the page refuses too");
    let roles = app.svc.cli_users().await.unwrap();
    let own = roles.iter().find(|u| u.user.id == admin.user_id).expect("admin");
    assert_eq!(own.memberships.len(), 1, "still only an administrator");
    // A clinical grant to someone else works and is visible to the auditor as such.
    let luca = app.actor("luca").await;
    let r = c
        .json(
            "POST",
            &format!("/api/v1/users/{}/roles", luca.user_id),
            serde_json::json!({"organisation_id": serd, "role": "case_manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let auditor = app.actor("auditor").await;
    let q = AuditQuery { user: "admin".into(), ..Default::default() };
    let trail = app.svc.audit_trail(&auditor, &q, None).await.unwrap();
    assert!(trail.iter().any(|r| r.entry.reason.as_deref() == Some("assegnazione ruolo con accesso a dati personali")));
}

#[tokio::test]
async fn a_revoked_role_ends_its_sessions_and_tokens_at_once() {
    let app = TestApp::new().await;
    let c = app.login("luca").await;
    let api = app.api_client("luca").await;
    assert_eq!(c.get("/home").await.status, StatusCode::OK);
    let luca = app.actor("luca").await;
    let admin = app.actor("admin").await;
    app.svc.set_membership_active(&admin, luca.membership_id, false).await.unwrap();
    assert_ne!(c.get("/home").await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/persons").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_probe_is_audited_with_the_person_and_limited_per_hour() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Sonda", "1983-04-04").await;
    let luca = app.actor("luca").await;
    let outcome = app.svc.register_person(&luca, &person("Sonda", "1983-04-04"), &episode(&luca)).await.unwrap();
    assert!(matches!(outcome, Registration::KnownElsewhere { .. }));
    let auditor = app.actor("auditor").await;
    let q = AuditQuery { person: id.to_string(), ..Default::default() };
    let trail = app.svc.audit_trail(&auditor, &q, None).await.unwrap();
    let probe = trail.iter().find(|r| r.entry.action == "lookup").expect("the probe is found by person");
    assert_eq!(probe.entry.username, "luca");
    assert!(probe.entry.detail.as_deref().is_some_and(|d| d.starts_with("codice ")));
    // The limit counts this user's probes in the trail (so it holds across app servers).
    for _ in 1..percorsi_service::pathway::PROBES_PER_HOUR {
        app.svc.register_person(&luca, &person("Sonda", "1983-04-04"), &episode(&luca)).await.unwrap();
    }
    let over = app.svc.register_person(&luca, &person("Sonda", "1983-04-04"), &episode(&luca)).await;
    assert!(matches!(over, Err(ServiceError::TooMany(_))), "{over:?}");
    let c = app.api_client("luca").await;
    let body = serde_json::json!({
        "person": {"surname": "Sonda", "name": "Prova", "birth_date": "1983-04-04", "sex": "M"},
        "episode": {"start_date": "2026-02-10", "case_manager_id": luca.user_id.to_string()}
    });
    let r = c.json("POST", "/api/v1/persons", body).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn reads_of_a_persons_sub_resources_are_audited_with_the_person() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Letture", "1984-05-05").await;
    let anna = app.actor("anna").await;
    app.svc.person_assessments(&anna, id).await.unwrap();
    app.svc.projects_of_person(&anna, id).await.unwrap();
    app.svc.placements_of_person(&anna, id).await.unwrap();
    app.svc.interventions_of_person(&anna, id).await.unwrap();
    let auditor = app.actor("auditor").await;
    let q = AuditQuery { person: id.to_string(), user: "anna".into(), ..Default::default() };
    let entities: Vec<String> =
        app.svc.audit_trail(&auditor, &q, None).await.unwrap().into_iter().map(|r| r.entry.entity).collect();
    for e in ["assessment_list", "project_list", "placement_list", "intervention_list"] {
        assert!(entities.iter().any(|x| x == e), "{e} read not audited: {entities:?}");
    }
}

#[tokio::test]
async fn episode_changes_leave_no_health_values_in_the_audit_trail() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Sostanze", "1985-06-06").await;
    let anna = app.actor("anna").await;
    let ep = app.svc.pathway(&anna, id).await.unwrap().manageable_episode.expect("own episode");
    let form = EpisodeUpdateForm { substance_current: "cocaina".into(), treatment_in_progress: false };
    app.svc.update_episode(&anna, ep, &form).await.unwrap();
    let auditor = app.actor("auditor").await;
    let q = AuditQuery { entity: format!("care_episode:{ep}"), ..Default::default() };
    let trail = app.svc.audit_trail(&auditor, &q, None).await.unwrap();
    assert!(!trail.is_empty());
    for r in &trail {
        let text = format!("{:?} {:?}", r.entry.reason, r.entry.detail);
        assert!(!text.contains("cocaina") && !text.contains("eroina"), "health value in the trail: {text}");
    }
}

#[tokio::test]
async fn the_auditor_filters_the_trail_by_user_organisation_person_and_period() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Filtri", "1986-07-07").await;
    let anna = app.actor("anna").await;
    app.svc.pathway(&anna, id).await.unwrap();
    let auditor = app.actor("auditor").await;
    let all = |q: AuditQuery| {
        let (svc, auditor) = (app.svc.clone(), auditor.clone());
        async move { svc.audit_trail(&auditor, &q, None).await.unwrap() }
    };
    let by_person = all(AuditQuery { person: id.to_string(), ..Default::default() }).await;
    assert!(!by_person.is_empty() && by_person.iter().all(|r| r.entry.person_id == Some(id)));
    let by_org = all(AuditQuery { organisation: anna.organisation_id.to_string(), ..Default::default() }).await;
    assert!(!by_org.is_empty() && by_org.iter().all(|r| r.entry.organisation_id == Some(anna.organisation_id)));
    let by_user = all(AuditQuery { user: "anna".into(), ..Default::default() }).await;
    assert!(!by_user.is_empty() && by_user.iter().all(|r| r.entry.username == "anna"));
    assert!(all(AuditQuery { to: "2000-01-01".into(), ..Default::default() }).await.is_empty());
    let today = chrono::Utc::now().date_naive().to_string();
    assert!(!all(AuditQuery { from: today.clone(), to: today, ..Default::default() }).await.is_empty());
    // The same filters on the page and the API; a bad period is a field error.
    let page = app.login("auditor").await.get(&format!("/audit?person={id}&user=anna")).await;
    assert_eq!(page.status, StatusCode::OK);
    let api = app.api_client("auditor").await;
    let r = api.get(&format!("/api/v1/audit?person={id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().as_array().is_some_and(|a| !a.is_empty()));
    let r = api.get("/api/v1/audit?from=2026-02-01&to=2026-01-01").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.get("/api/v1/audit?user=nessuno").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.api_client("anna").await.get("/api/v1/audit").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only the auditor reads the trail");
}

#[tokio::test]
async fn break_the_glass_opens_for_a_time_is_shown_audited_notified_and_reviewed() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Emergenza", "1987-08-08").await;
    let code = app.svc.pathway(&app.actor("anna").await, id).await.unwrap().person.code;
    let c = app.login("luca").await;
    assert_eq!(c.get(&format!("/persone/{id}")).await.status, StatusCode::NOT_FOUND);
    // A reason is required.
    let r = c.post("/persone/emergenza", &[("code", &code), ("reason", "urgente")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reason = "Accesso in pronto soccorso, serve la terapia in corso";
    let r = c.post("/persone/emergenza", &[("code", &code), ("reason", reason)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get(&format!("/persone/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("glass-banner") && page.body.contains(&code), "the access is shown in the header");
    // The grant belongs to the session's user and organisation: the same user acting without
    // it (another membership, or an actor made before the grant) sees nothing.
    let p = app.svc.pathway(&app.actor("luca").await, id).await;
    assert!(matches!(p, Err(ServiceError::NotFound)));
    // The organisation in charge is told; the auditor reviews.
    let notes = app.svc.notifications(&app.actor("anna").await).await.unwrap();
    assert!(notes.iter().any(|n| n.message == "notif-glass"));
    let auditor = app.actor("auditor").await;
    let grants = app.svc.glass_reviews(&auditor).await.unwrap();
    let g = grants.iter().find(|g| g.person_id == id).expect("listed for review");
    assert_eq!(g.reason, reason);
    let bad = GlassReviewForm { justified: "no".into(), note: String::new() };
    assert!(matches!(app.svc.review_glass(&auditor, g.id, &bad).await, Err(ServiceError::Invalid(_))));
    let ok = GlassReviewForm { justified: "si".into(), note: "Verificato con il PS".into() };
    app.svc.review_glass(&auditor, g.id, &ok).await.unwrap();
    assert!(matches!(app.svc.review_glass(&auditor, g.id, &ok).await, Err(ServiceError::Conflict(_))));
    let trail = app
        .svc
        .audit_trail(&auditor, &AuditQuery { person: id.to_string(), ..Default::default() }, None)
        .await
        .unwrap();
    assert!(trail.iter().any(|r| r.entry.action == "glass" && r.entry.username == "luca"));
    assert!(trail.iter().any(|r| r.entry.action == "review"));
    // When the time is up the record closes again.
    sqlx_exec(app.svc.store(), "UPDATE glass_access SET expires_at = '2000-01-01T00:00:00Z'").await;
    assert_eq!(c.get(&format!("/persone/{id}")).await.status, StatusCode::NOT_FOUND);
    // Roles that may not break the glass.
    for user in ["coordinatore", "analista", "admin", "davide"] {
        let api = app.api_client(user).await;
        let r = api.json("POST", "/api/v1/glass", serde_json::json!({"code": code, "reason": reason})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}");
    }
    let form = GlassForm { code: code.clone(), reason: reason.into() };
    let anna = app.actor("anna").await;
    assert!(matches!(app.svc.break_glass(&anna, &form).await, Err(ServiceError::Conflict(_))), "not needed");
}

#[tokio::test]
async fn a_historical_import_never_attaches_to_a_live_person() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Vivo", "1988-09-09").await;
    let code = app.svc.pathway(&app.actor("anna").await, id).await.unwrap().person.code;
    let analyst = app.actor("analista").await;
    let programme = app.svc.programme_by_name(percorsi_service::demo::SEED001_PROGRAMME).await.unwrap().id;
    let header = "id_intervento;codice_persona;ente;tipo_intervento;data_inizio;data_fine;sesso;anno_nascita;esito;\
                  tipo_esito_positivo;motivo_interruzione;valutazione;sezione_a;variazione_autonomia";
    let row = |reference: &str, code: &str, year: u32| {
        format!(
            "{reference};{code};1-MS;esperienza_formativa;2012-08-01;2012-12-01;M;{year};interrotto;;\
             aggravamento_salute;positiva;medio;nessuna_variazione"
        )
    };
    let file = format!("{header}\n{}\n", row("X-LIVE-1", &code, 1988));
    let out = app
        .svc
        .import_history(percorsi_service::import::Importer::User(&analyst), programme, "vivo.csv", file.as_bytes())
        .await
        .unwrap();
    assert!(!out.written, "nothing written");
    assert!(out.errors.iter().any(|e| e.column == "codice_persona" && e.key == "err-live-code"), "{:?}", out.errors);
    let interventions = app.svc.interventions_of_person(&app.actor("anna").await, id).await.unwrap();
    assert!(interventions.is_empty(), "the live person's page gains nothing");
    // A historical code is imported once; a later file must agree on sex and birth year.
    let file = format!("{header}\n{}\n", row("X-HIST-1", "STORICO-77", 1970));
    let out = app
        .svc
        .import_history(percorsi_service::import::Importer::User(&analyst), programme, "a.csv", file.as_bytes())
        .await
        .unwrap();
    assert!(out.written, "{:?}", out.errors);
    let file = format!("{header}\n{}\n", row("X-HIST-2", "STORICO-77", 1971));
    let out = app
        .svc
        .import_history(percorsi_service::import::Importer::User(&analyst), programme, "b.csv", file.as_bytes())
        .await
        .unwrap();
    assert!(!out.written);
    assert!(out.errors.iter().any(|e| e.key == "err-person-inconsistent-stored"), "{:?}", out.errors);
}

/// A coordinator account at the organisation whose name contains `org`.
async fn coordinator_at(app: &TestApp, username: &str, org: &str) -> Actor {
    let admin = app.actor("admin").await;
    let form = percorsi_domain::user::UserForm {
        username: username.into(),
        display_name: format!("Coordinatore {org}"),
        password: "una-password-lunga".into(),
        organisation_id: app.org_id(org).await.to_string(),
        role: "coordinatore".into(),
    };
    app.svc.create_user(&admin, &form).await.unwrap();
    app.actor(username).await
}

#[tokio::test]
async fn coordinators_change_only_the_programmes_of_their_organisation_subtree() {
    use percorsi_domain::programme::{ParticipationForm, ProgrammeForm, RuleForm};
    let app = TestApp::new().await;
    let owner = app.actor("coordinatore").await; // SerD Zona 1-MS
    let form = ProgrammeForm {
        name: "Programma di Massa".into(),
        start_date: "2026-01-01".into(),
        end_date: "2027-12-31".into(),
        ..Default::default()
    };
    let id = app.svc.create_programme(&owner, &form).await.unwrap();
    let stranger = coordinator_at(&app, "coord-li", "SerD Zona 6-LI").await;
    let above = coordinator_at(&app, "coord-ausl", "Azienda USL Toscana nord ovest").await;
    let rename = ProgrammeForm { name: "Rinominato".into(), ..form.clone() };
    let rule = RuleForm {
        intervention_type: "inserimento_lavorativo".into(),
        min_months: "1".into(),
        max_months: "6".into(),
        monthly_amount: "300".into(),
        amount_kind: "massimo".into(),
    };
    let budget = ParticipationForm {
        organisation_id: app.org_id("La Rete").await.to_string(),
        budget: "1000".into(),
        ..Default::default()
    };
    assert!(matches!(app.svc.update_programme(&stranger, id, &rename).await, Err(ServiceError::Forbidden)));
    assert!(matches!(app.svc.change_rule(&stranger, id, &rule).await, Err(ServiceError::Forbidden)));
    assert!(matches!(app.svc.set_participation(&stranger, id, &budget).await, Err(ServiceError::Forbidden)));
    let r = app
        .api_client("coord-li")
        .await
        .json(
            "PUT",
            &format!("/api/v1/programmes/{id}/participants"),
            serde_json::json!({"organisation_id": budget.organisation_id, "budget": "5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let overview = app.svc.programme_overview(&stranger, id).await.unwrap();
    assert!(!overview.can_manage, "the page offers no forms to other coordinators");
    assert_eq!(overview.programme.name, "Programma di Massa", "nothing changed");
    // The owner's coordinators, and those of the organisation above it, do.
    app.svc.set_participation(&owner, id, &budget).await.unwrap();
    app.svc.update_programme(&above, id, &rename).await.unwrap();
    assert!(app.svc.programme_overview(&above, id).await.unwrap().can_manage);
    // The historical programme of the demo belongs to the organisation that created it.
    let historical = app.svc.programme_by_name(percorsi_service::demo::SEED001_PROGRAMME).await.unwrap();
    assert_eq!(historical.owner_organisation_id, Some(owner.organisation_id));
    let keep = ProgrammeForm {
        name: "Rubato".into(),
        start_date: "2011-01-01".into(),
        end_date: "2012-12-31".into(),
        ..Default::default()
    };
    assert!(matches!(app.svc.update_programme(&stranger, historical.id, &keep).await, Err(ServiceError::Forbidden)));
}

#[tokio::test]
async fn another_organisations_intervention_shows_relapses_and_substances_only_with_consent_for_them() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let marco = app.actor("marco").await; // employment centre
    let mut found = None;
    'people: for p in app.svc.followed(&anna).await.unwrap() {
        for i in app.svc.interventions_of_person(&anna, p.id).await.unwrap() {
            let d = app.svc.intervention(&anna, i.id).await.unwrap();
            if d.intervention.relapse_count.is_some() && d.intervention.organisation_id == anna.organisation_id {
                found = Some((p.id, i.id));
                break 'people;
            }
        }
    }
    let (person, intervention) = found.expect("a demo intervention of Anna's with relapses recorded");
    if app.svc.pathway(&marco, person).await.is_err() {
        consent(&app, &anna, person, marco.organisation_id, "inserimento_lavorativo").await;
    }
    let seen = app.svc.intervention(&marco, intervention).await.expect("the intervention is opened by the consent");
    assert_eq!(seen.intervention.relapse_count, None, "relapses are not opened by a work consent");
    assert_eq!(seen.intervention.illegal_substance_use, None);
    assert!(seen.forms.is_empty(), "nor are the forms' scores");
    let api = app.api_client("marco").await.get(&format!("/api/v1/interventions/{intervention}")).await;
    assert_eq!(api.status, StatusCode::OK);
    assert!(api.json()["intervention"]["relapse_count"].is_null(), "{}", api.body);
}

#[tokio::test]
async fn every_person_link_on_the_referral_triage_opens_for_whoever_sees_it() {
    let app = TestApp::new().await;
    let mut links = 0;
    for user in ["anna", "luca", "sara", "paola", "marco"] {
        let c = app.login(user).await;
        let page = c.get("/segnalazioni").await;
        assert_eq!(page.status, StatusCode::OK);
        for part in page.body.split("href=\"/persone/").skip(1) {
            let id: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
            if id.is_empty() {
                continue; // /persone/nuova, /persone/emergenza in the menu
            }
            let r = c.get(&format!("/persone/{id}")).await;
            assert_eq!(r.status, StatusCode::OK, "{user}: a link on the triage list to person {id} is a dead end");
            links += 1;
        }
    }
    assert!(links > 0, "the demo has referrals with links");
}

#[tokio::test]
async fn the_organisation_responsible_for_an_objective_reports_its_progress_and_only_that() {
    let app = TestApp::new().await;
    let id = registered_by_anna(&app, "Obiettivi", "1979-10-10").await;
    let anna = app.actor("anna").await;
    let marco = app.actor("marco").await; // employment centre
    let start = percorsi_service::today();
    let plan = serde_json::json!({
        "start_date": start.to_string(),
        "end_date": (start + chrono::Duration::days(365)).to_string(),
        "next_review": (start + chrono::Duration::days(30)).to_string(),
        "o0_axis": "salute_cura", "o0_title": "Cura", "o0_results": "Terapia seguita",
        "o0_org": anna.organisation_id.to_string(),
        "o1_axis": "formazione_lavoro", "o1_title": "Lavoro", "o1_results": "Un tirocinio avviato",
        "o1_org": marco.organisation_id.to_string(),
    });
    let r = app.api_client("anna").await.json("POST", &format!("/api/v1/persons/{id}/projects"), plan).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let project = r.json()["id"].as_i64().expect("id");
    consent(&app, &anna, id, marco.organisation_id, "progetto_personalizzato").await;
    let api = app.api_client("marco").await;
    let path = |n: usize| format!("/api/v1/projects/{project}/objectives/{n}/progress");
    let r = api.json("POST", &path(2), serde_json::json!({"status": "in_corso", "note": "Colloquio fissato"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = api.json("POST", &path(1), serde_json::json!({"status": "raggiunto"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not the employment centre's objective");
    let r = api.json("POST", &path(3), serde_json::json!({"status": "raggiunto"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api.json("POST", &path(2), serde_json::json!({"status": "finito"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.api_client("anna").await.json("POST", &path(2), serde_json::json!({"status": "raggiunto"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the owner reviews; the responsible organisation reports");
    let paola = app.api_client("paola").await; // no consent: the project does not exist for her
    assert_eq!(
        paola.json("POST", &path(2), serde_json::json!({"status": "in_corso"})).await.status,
        StatusCode::NOT_FOUND
    );
    let view = app.svc.project(&anna, project, None).await.unwrap();
    assert_eq!(view.progress[1].len(), 1);
    assert_eq!(view.progress[1][0].note.as_deref(), Some("Colloquio fissato"));
    assert!(view.progress[0].is_empty());
    assert_eq!(view.plan.objectives.len(), 2, "the plan itself is unchanged");
    let c = app.login("marco").await;
    let page = c.get(&format!("/progetti/{project}")).await;
    assert!(page.body.contains(&format!("/progetti/{project}/obiettivi/2/avanzamento")));
    let r = c.post(&format!("/progetti/{project}/obiettivi/2/avanzamento"), &[("status", "ostacolato")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.post(&format!("/progetti/{project}/obiettivi/2/avanzamento"), &[("status", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!page.body.contains(&format!("/progetti/{project}/obiettivi/1/avanzamento")));
}
