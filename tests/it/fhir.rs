//! HL7 FHIR R4 at /fhir/r4: what each role reads (the same policy as the pages), every emitted
//! resource valid against HL7's official R4 JSON schema (checked with Node.js and
//! `tests/validators`), and bundle imports that register everyone or no one.

use crate::support::{Client, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};

fn assert_valid_r4(resources: &[Value]) {
    crate::support::assert_valid("fhir.js", resources);
}

async fn fhir(c: &Client, path: &str) -> (StatusCode, Value) {
    let r = c.get(path).await;
    (r.status, serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", r.body)))
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().map(|e| e.iter().map(|x| x["resource"].clone()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn resources_follow_the_policy_and_validate_against_the_r4_schema() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let person = app.named_person("anna").await;
    let mut emitted = Vec::new();

    let (status, cap) = fhir(&app.client(), "/fhir/r4/metadata").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (cap["resourceType"].as_str(), cap["fhirVersion"].as_str()),
        (Some("CapabilityStatement"), Some("4.0.1"))
    );
    emitted.push(cap);

    // The case manager: the person with name, birth date and the code.
    let cm = app.api_client("anna").await;
    let (status, found) =
        fhir(&cm, &format!("/fhir/r4/Patient?identifier=urn:percorsi:codice-pseudonimo|{}", person.code)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["total"], 1, "{found}");
    emitted.push(found);
    let (status, patient) = fhir(&cm, &format!("/fhir/r4/Patient/{}", person.id)).await;
    assert_eq!(status, StatusCode::OK, "{patient}");
    assert_eq!(patient["name"][0]["family"].as_str(), person.surname.as_deref());
    assert!(patient["identifier"].as_array().expect("ids").iter().any(|i| i["value"] == person.code.as_str()));
    assert_eq!(patient["birthDate"].as_str().map(str::len), Some(10), "a full birth date: {patient}");
    emitted.push(patient);
    for path in [
        format!("/fhir/r4/EpisodeOfCare?patient=Patient/{}", person.id),
        format!("/fhir/r4/Consent?patient={}", person.id),
        "/fhir/r4/Organization".to_string(),
    ] {
        let (status, bundle) = fhir(&cm, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        assert!(!entries(&bundle).is_empty() || path.contains("Consent"), "{path}: {bundle}");
        emitted.extend(entries(&bundle));
        emitted.push(bundle);
    }
    let (_, episodes) = fhir(&cm, &format!("/fhir/r4/EpisodeOfCare?patient={}", person.id)).await;
    let org = entries(&episodes)[0]["managingOrganization"]["reference"].as_str().expect("org ref").to_string();
    let (status, organization) = fhir(&cm, &format!("/fhir/r4/{org}")).await;
    assert_eq!(status, StatusCode::OK);
    emitted.push(organization);

    // The coordinator sees the person pseudonymised: code, sex, birth year; no name.
    let (status, pseudo) =
        fhir(&app.api_client("coordinatore").await, &format!("/fhir/r4/Patient/{}", person.id)).await;
    assert_eq!(status, StatusCode::OK, "{pseudo}");
    assert!(pseudo.get("name").is_none() && pseudo.get("telecom").is_none(), "{pseudo}");
    assert_eq!(pseudo["birthDate"].as_str().map(str::len), Some(4), "the year only: {pseudo}");
    emitted.push(pseudo);

    // Refusals are OperationOutcomes: the analyst may not read people; another organisation
    // does not find them; no token, no data.
    let (status, refused) = fhir(&app.api_client("analista").await, &format!("/fhir/r4/Patient/{}", person.id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["resourceType"], "OperationOutcome");
    emitted.push(refused);
    let (status, hidden) = fhir(&app.api_client("sara").await, &format!("/fhir/r4/Patient/{}", person.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{hidden}");
    emitted.push(hidden);
    let (status, anonymous) = fhir(&app.client(), &format!("/fhir/r4/Patient/{}", person.id)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{anonymous}");
    emitted.push(anonymous);
    // The personalised project, the referrals and the forms.
    let mut with_project = None;
    let mut with_referral = None;
    let mut with_assessment = None;
    for p in app.svc.followed(&anna).await.expect("followed") {
        if with_assessment.is_none() && !app.svc.person_assessments(&anna, p.id).await.expect("assessments").is_empty()
        {
            with_assessment = Some(p.id);
        }
        if with_project.is_none() && !app.svc.projects_of_person(&anna, p.id).await.expect("projects").is_empty() {
            with_project = Some(p.id);
        }
        if with_referral.is_none() && !app.svc.referrals_of_person(&anna, p.id).await.expect("referrals").is_empty() {
            with_referral = Some(p.id);
        }
    }
    for (kind, id) in
        [("CarePlan", with_project), ("ServiceRequest", with_referral), ("QuestionnaireResponse", with_assessment)]
    {
        let id = id.unwrap_or_else(|| panic!("the demo gives Anna a person with a {kind}"));
        let (status, bundle) = fhir(&cm, &format!("/fhir/r4/{kind}?patient=Patient/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        let found = entries(&bundle);
        assert!(!found.is_empty() && found.iter().all(|r| r["resourceType"] == kind), "{bundle}");
        emitted.extend(found);
        emitted.push(bundle);
    }
    for kind in ["Practitioner", "PractitionerRole"] {
        let (status, staff) = fhir(&cm, &format!("/fhir/r4/{kind}")).await;
        assert_eq!(status, StatusCode::OK, "{staff}");
        assert!(staff.to_string().contains("Anna Bianchi"), "{staff}");
        emitted.extend(entries(&staff));
    }
    let (status, forms) = fhir(&cm, "/fhir/r4/Questionnaire").await;
    assert_eq!(status, StatusCode::OK);
    let forms = entries(&forms);
    assert!(forms.iter().any(|q| q["item"].as_array().is_some_and(|i| !i.is_empty())), "forms with items");
    emitted.extend(forms);

    let (status, missing) = fhir(&cm, "/fhir/r4/EpisodeOfCare").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{missing}");
    emitted.push(missing);

    assert_valid_r4(&emitted);
}

fn new_patient(url: &str, surname: &str, birth: &str) -> Value {
    json!({ "fullUrl": url, "resource": {
        "resourceType": "Patient",
        "name": [{ "family": surname, "given": ["Importata"] }],
        "gender": "female", "birthDate": birth,
        "telecom": [{ "system": "phone", "value": "+39 0585 000000" }]
    }})
}

fn episode(patient_url: &str, case_manager: i64) -> Value {
    json!({ "resource": {
        "resourceType": "EpisodeOfCare", "status": "active",
        "patient": { "reference": patient_url },
        "period": { "start": "2026-10-01" },
        "careManager": { "identifier": { "value": case_manager.to_string() } }
    }})
}

fn transaction(entries: Vec<Value>) -> Value {
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}

async fn post_bundle(c: &Client, bundle: &Value) -> (StatusCode, Value) {
    let r = c.raw("POST", "/fhir/r4", "application/fhir+json", &bundle.to_string()).await;
    (r.status, serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body)))
}

async fn visible_count(app: &TestApp, user: &str) -> usize {
    app.svc.persons(&app.actor(user).await, None).await.expect("persons").len()
}

#[tokio::test]
async fn a_bundle_registers_everyone_or_no_one_and_importing_twice_adds_nothing() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let cm = app.api_client("anna").await;
    let before = visible_count(&app, "anna").await;

    let good = transaction(vec![
        new_patient("urn:uuid:a", "Fhirimport", "1990-02-03"),
        episode("urn:uuid:a", anna.user_id),
        new_patient("urn:uuid:b", "Fhirimport", "1991-04-05"),
        episode("urn:uuid:b", anna.user_id),
    ]);
    let (status, response) = post_bundle(&cm, &good).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["type"], "transaction-response");
    let statuses: Vec<&str> = response["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["response"]["status"].as_str())
        .collect();
    assert_eq!(statuses, ["201 Created", "201 Created"]);
    assert_eq!(visible_count(&app, "anna").await, before + 2);

    // The same bundle again: nothing new.
    let (status, again) = post_bundle(&cm, &good).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert!(again.to_string().matches("unchanged").count() == 2, "{again}");
    assert_eq!(visible_count(&app, "anna").await, before + 2);

    // A malformed entry: nothing is read further, every problem is named.
    let bad = transaction(vec![
        new_patient("urn:uuid:c", "Fhirnuova", "1992-01-01"),
        episode("urn:uuid:c", anna.user_id),
        new_patient("urn:uuid:d", "Fhirnuova", "31/02/1993"),
        episode("urn:uuid:d", anna.user_id),
    ]);
    let (status, outcome) = post_bundle(&cm, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(outcome.to_string().contains("Bundle.entry[2]"), "the second patient is named: {outcome}");
    assert_eq!(visible_count(&app, "anna").await, before + 2, "the valid first entry was not kept");

    // A failure found only while writing (the case manager is not of this organisation) rolls
    // back the entries written before it.
    let luca = app.actor("luca").await;
    let late = transaction(vec![
        new_patient("urn:uuid:e", "Fhirtarda", "1994-01-01"),
        episode("urn:uuid:e", anna.user_id),
        new_patient("urn:uuid:f", "Fhirtarda", "1995-01-01"),
        episode("urn:uuid:f", luca.user_id),
    ]);
    let (status, outcome) = post_bundle(&cm, &late).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert!(outcome.to_string().contains("Bundle.entry[2]"), "{outcome}");
    assert_eq!(visible_count(&app, "anna").await, before + 2, "all or nothing");

    // Round trip: what Anna's organisation exports, another organisation imports as the same
    // person (taken in charge: same record, same code).
    let person =
        app.svc.persons(&anna, Some("Fhirimport")).await.expect("search").into_iter().next().expect("imported");
    let (_, exported) = fhir(&cm, &format!("/fhir/r4/Patient/{}", person.id)).await;
    let sara = app.actor("sara").await;
    let round = transaction(vec![
        json!({ "fullUrl": "urn:uuid:x", "resource": exported }),
        episode("urn:uuid:x", sara.user_id),
    ]);
    let (status, taken) = post_bundle(&app.api_client("sara").await, &round).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["entry"][0]["response"]["location"], format!("Patient/{}", person.id));
    assert!(taken.to_string().contains("taken_in_charge"), "{taken}");
    let (status, seen) = fhir(&app.api_client("sara").await, &format!("/fhir/r4/Patient/{}", person.id)).await;
    assert_eq!(status, StatusCode::OK, "Il Faro now has the person in charge: {seen}");
    assert_valid_r4(&[response, again, outcome, taken, seen]);
}

#[tokio::test]
async fn a_pathway_exported_as_fhir_is_rebuilt_by_another_installation() {
    let source = TestApp::new().await;
    let person = source.named_person("anna").await;
    let cm = source.api_client("anna").await;
    let (_, patient) = fhir(&cm, &format!("/fhir/r4/Patient/{}", person.id)).await;
    let (_, episodes) = fhir(&cm, &format!("/fhir/r4/EpisodeOfCare?patient={}", person.id)).await;
    let episode = entries(&episodes).into_iter().find(|e| e["status"] == "active").expect("an open episode");

    // Another installation (its own key and database): the SerD's system sends what it read.
    let target = TestApp::new().await;
    let target_cm = target.actor("anna").await;
    let mut sent = episode.clone();
    sent["patient"] = json!({ "reference": "urn:uuid:p" });
    sent["careManager"] = json!({ "identifier": { "value": target_cm.user_id.to_string() } });
    let bundle =
        transaction(vec![json!({ "fullUrl": "urn:uuid:p", "resource": patient.clone() }), json!({ "resource": sent })]);
    let (status, response) = post_bundle(&target.api_client("anna").await, &bundle).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let location = response["entry"][0]["response"]["location"].as_str().expect("location").to_string();

    // The same person and episode, under the target's own pseudonymous code.
    let tcm = target.api_client("anna").await;
    let (status, rebuilt) = fhir(&tcm, &format!("/fhir/r4/{location}")).await;
    assert_eq!(status, StatusCode::OK, "{rebuilt}");
    for field in ["name", "birthDate", "gender", "telecom"] {
        assert_eq!(rebuilt.get(field), patient.get(field), "{field}: {rebuilt} vs {patient}");
    }
    let code = |p: &Value| {
        p["identifier"]
            .as_array()
            .and_then(|ids| ids.iter().find(|i| i["system"] == "urn:percorsi:codice-pseudonimo"))
            .map(|i| i["value"].clone())
    };
    assert_ne!(code(&rebuilt), code(&patient), "each installation keys its own codes");
    let id = location.trim_start_matches("Patient/");
    let (_, rebuilt_episodes) = fhir(&tcm, &format!("/fhir/r4/EpisodeOfCare?patient={id}")).await;
    let rebuilt_episodes = entries(&rebuilt_episodes);
    assert_eq!(rebuilt_episodes.len(), 1, "{rebuilt_episodes:?}");
    assert_eq!(rebuilt_episodes[0]["period"]["start"], episode["period"]["start"]);
    assert_eq!(rebuilt_episodes[0]["status"], "active");
    assert_valid_r4(&[rebuilt, response]);
}

#[tokio::test]
async fn the_analyst_exports_a_programme_as_k_anonymous_fhir_ndjson() {
    let app = TestApp::new().await;
    let seed = crate::reports::seed_programme(&app).await;
    let analyst = app.api_client("analista").await;
    let kick_off = format!("/fhir/r4/Group/{}/$export", seed.programme);

    // The bulk data protocol asks for an asynchronous answer; the case manager may not export.
    assert_eq!(analyst.get(&kick_off).await.status, StatusCode::BAD_REQUEST);
    let r = app
        .api_client("anna")
        .await
        .raw_with("GET", &kick_off, "application/fhir+json", "", &[("prefer", "respond-async")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let r = analyst.raw_with("GET", &kick_off, "application/fhir+json", "", &[("prefer", "respond-async")]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let status_url = r.header("content-location").expect("Content-Location");
    let status_path = status_url.split_once("/fhir/r4").map(|(_, p)| format!("/fhir/r4{p}")).expect("status path");
    // The files are written after the answer: the status says "in progress" (202) until done.
    let mut manifest = analyst.get(&status_path).await;
    for _ in 0..600 {
        if manifest.status != StatusCode::ACCEPTED {
            break;
        }
        assert!(manifest.header("x-progress").is_some(), "progress is said");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        manifest = analyst.get(&status_path).await;
    }
    assert_eq!(manifest.status, StatusCode::OK, "{}", manifest.body);
    let manifest = manifest.json();
    assert_eq!(manifest["requiresAccessToken"], true);
    let mut resources = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    for out in manifest["output"].as_array().expect("output") {
        let url = out["url"].as_str().expect("url");
        let path = url.split_once("/fhir/r4").map(|(_, p)| format!("/fhir/r4{p}")).expect("file path");
        let file = analyst.get(&path).await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.header("content-type").as_deref(), Some("application/fhir+ndjson"));
        let lines: Vec<Value> =
            file.body.lines().map(|l| serde_json::from_str(l).expect("one resource per line")).collect();
        assert_eq!(Some(lines.len() as u64), out["count"].as_u64());
        counts.insert(out["type"].as_str().expect("type").to_string(), lines.len());
        resources.extend(lines);
    }
    // The same rows as the extract (k-anonymous, some left out), codes keyed for this export.
    let extract = analyst.get(&format!("/api/v1/reports/extract?programme_id={}", seed.programme)).await.json();
    let extract_rows = extract["rows"].as_array().expect("rows").len();
    assert_eq!(counts.get("EpisodeOfCare"), Some(&extract_rows), "{counts:?}");
    let patients: std::collections::BTreeSet<String> = resources
        .iter()
        .filter(|r| r["resourceType"] == "Patient")
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    for e in resources.iter().filter(|r| r["resourceType"] == "EpisodeOfCare") {
        let p = e["patient"]["reference"].as_str().expect("patient").trim_start_matches("Patient/");
        assert!(patients.contains(p), "every episode's patient is in the export");
    }
    let extract_codes: std::collections::BTreeSet<&str> =
        extract["rows"].as_array().expect("rows").iter().filter_map(|r| r["person_code"].as_str()).collect();
    assert!(patients.iter().all(|p| !extract_codes.contains(p.as_str())), "codes do not link across exports");
    assert!(!resources.iter().any(|r| r.get("name").is_some() || r.get("birthDate").is_some()), "no identity");
    assert_valid_r4(&resources);

    // Only its requester reads it; deleted, it is gone.
    assert_eq!(app.api_client("anna").await.get(&status_path).await.status, StatusCode::FORBIDDEN);
    let r = analyst.raw_with("DELETE", &status_path, "application/fhir+json", "", &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(analyst.get(&status_path).await.status, StatusCode::NOT_FOUND);
}
