//! Signed documents: attached to a consent, a project, a referral or an intervention; judged by
//! their content; shown exactly to those who see the record they belong to (the same 404s);
//! erased with the identity; carried by backups.

use crate::support::{documents_dir, TestApp};
use axum::http::StatusCode;

const PDF: &str = "%PDF-1.4\n% consenso firmato\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// A person Anna's organisation has in charge with at least one project and one intervention.
async fn person_with_records(app: &TestApp) -> (i64, i64, i64) {
    let anna = app.actor("anna").await;
    for p in app.svc.followed(&anna).await.expect("followed") {
        let projects = app.svc.projects_of_person(&anna, p.id).await.expect("projects");
        let interventions = app.svc.interventions_of_person(&anna, p.id).await.expect("interventions");
        if let (Some(pr), Some(i)) = (projects.first(), interventions.first()) {
            return (p.id, pr.id, i.id);
        }
    }
    panic!("the demo has a person with a project and an intervention");
}

async fn upload(
    client: &crate::support::Client,
    person: i64,
    to: &str,
    title: &str,
    name: &str,
    body: &str,
) -> crate::support::Resp {
    let path = format!("/api/v1/persons/{person}/documents?attached_to={to}&title={title}&file_name={name}");
    client.raw("POST", &path, "application/octet-stream", body).await
}

#[tokio::test]
async fn a_signed_document_is_seen_exactly_by_those_who_see_its_record() {
    let app = TestApp::new().await;
    let anna = app.api_client("anna").await;
    let (person, project, intervention) = person_with_records(&app).await;
    let sara = app.actor("sara").await;

    // What Anna's organisation may attach to, and refusals that name the field.
    let r = anna.get(&format!("/api/v1/persons/{person}/documents")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let targets: Vec<String> = r.json()["attachable"]
        .as_array()
        .expect("attachable")
        .iter()
        .filter(|a| a["can_attach"] == true)
        .map(|a| a["value"].as_str().expect("value").to_string())
        .collect();
    for t in [format!("project:{project}"), format!("intervention:{intervention}")] {
        assert!(targets.contains(&t), "{t} in {targets:?}");
    }
    let r = upload(
        &anna,
        person,
        &format!("project:{project}"),
        "Progetto",
        "progetto.pdf",
        "<html><script>alert(1)</script>",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("\"file\"") && r.body.contains("PDF"), "{}", r.body);
    let r = upload(&anna, person, &format!("project:{project}"), "", "progetto.pdf", PDF).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("\"title\""), "{}", r.body);
    let r = upload(&anna, person, "project:999999", "Progetto", "p.pdf", PDF).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("attached_to"), "{}", r.body);
    let big = format!("{PDF}{}", " ".repeat(percorsi_domain::document::MAX_BYTES));
    let r = upload(&anna, person, &format!("project:{project}"), "Progetto", "p.pdf", &big).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("10 MB"), "{}", r.status);
    let huge = " ".repeat(percorsi_domain::document::MAX_BYTES + 100 * 1024);
    let r = upload(&anna, person, &format!("project:{project}"), "Progetto", "p.pdf", &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "refused before it is read whole");

    let r = upload(&anna, person, &format!("project:{project}"), "Progetto%20firmato", "progetto.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let project_doc = r.json()["id"].as_i64().expect("id");
    let r = upload(&anna, person, &format!("intervention:{intervention}"), "Patto", "patto.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let intervention_doc = r.json()["id"].as_i64().expect("id");

    // The file comes back as it went in, as a download that no browser runs in our origin.
    let r = anna.get(&format!("/api/v1/documents/{project_doc}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, PDF);
    assert_eq!(r.header("content-type").as_deref(), Some("application/pdf"));
    assert!(r.header("content-disposition").is_some_and(|d| d.starts_with("attachment") && d.contains("progetto.pdf")));
    assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"));
    let page = app.login("anna").await.get(&format!("/documenti/{intervention_doc}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = app.login("anna").await.get(&format!("/persone/{person}")).await;
    assert!(page.body.contains("Progetto firmato") && page.body.contains(&format!("/documenti/{project_doc}")));
    assert!(page.body.contains(&format!("Progetto n. {project}")), "says what it belongs to");
    assert!(page.body.contains("Intervento: "), "with the intervention's type and start");

    // Another organisation: nothing before a consent (404, as for the person); with a consent
    // for monitoring, the intervention's document but not the project's (its purpose does not
    // open projects). Roles that see no records get nothing.
    let other = app.api_client("sara").await;
    for d in [project_doc, intervention_doc] {
        let r = other.get(&format!("/api/v1/documents/{d}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    }
    let consent = serde_json::json!({"organisation_id": sara.organisation_id.to_string(), "purpose": "monitoraggio_esiti", "start_date": "2026-01-01"});
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/consents"), consent).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(other.get(&format!("/api/v1/documents/{intervention_doc}")).await.status, StatusCode::OK);
    assert_eq!(other.get(&format!("/api/v1/documents/{project_doc}")).await.status, StatusCode::NOT_FOUND);
    let listed = other.get(&format!("/api/v1/persons/{person}/documents")).await.json();
    let ids: Vec<i64> = listed["documents"].as_array().expect("list").iter().filter_map(|d| d["id"].as_i64()).collect();
    assert_eq!(ids, vec![intervention_doc]);
    let r = upload(&other, person, &format!("intervention:{intervention}"), "Altro", "a.pdf", PDF).await;
    assert!(
        matches!(r.status.as_u16(), 403 | 422),
        "another organisation's record takes no documents from it: {}",
        r.status
    );
    for user in ["analista", "admin", "auditor"] {
        let r = app.api_client(user).await.get(&format!("/api/v1/documents/{project_doc}")).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{user}: {}", r.status);
    }

    // The person's copy carries the files; reading them is on the trail.
    let export = anna.get(&format!("/api/v1/persons/{person}/export")).await.json();
    let docs = export["documents"].as_array().expect("documents in the copy");
    assert_eq!(docs.len(), 2);
    use base64::Engine as _;
    let content = docs[0]["content_base64"].as_str().expect("content");
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(content).expect("base64"), PDF.as_bytes());
    let auditor = app.actor("auditor").await;
    let q = percorsi_service::audit::AuditQuery { entity: format!("document:{project_doc}"), ..Default::default() };
    assert!(!app.svc.audit_trail(&auditor, &q, None).await.expect("trail").is_empty());
}

#[tokio::test]
async fn the_upload_form_works_without_javascript_and_erasure_takes_the_files() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let api = app.api_client("anna").await;
    let r = api.json("POST", "/api/v1/persons", crate::support::nth_registration(anna.user_id, "Firmata", 7)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let person = r.json()["person_id"].as_i64().expect("id");
    let social = app.org_id("Servizio sociale").await.to_string();
    let consent = serde_json::json!({"organisation_id": social, "purpose": "progetto_personalizzato", "start_date": "2026-02-10"});
    let r = api.json("POST", &format!("/api/v1/persons/{person}/consents"), consent).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let consent = r.json()["id"].as_i64().expect("consent id");

    let page = app.login("anna").await;
    let boundary = "DocBoundary";
    let form = |title: &str, file: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attached_to\"\r\n\r\nconsent:{consent}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"firmato.pdf\"\r\nContent-Type: application/pdf\r\n\r\n{file}\r\n--{boundary}--\r\n"
        )
    };
    let path = format!("/persone/{person}/documenti");
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let same_site = [("origin", "http://localhost"), ("host", "localhost")];
    // A wrong file: the page again, in Italian, the title kept, the file's field named.
    let r = page.raw_with("POST", &path, &content_type, &form("Consenso firmato", "GIF89a"), &same_site).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("sono accettati solo file PDF, PNG o JPEG"), "{}", r.body);
    assert!(r.body.contains("value=\"Consenso firmato\""), "the title is kept");
    let r = page.raw_with("POST", &path, &content_type, &form("Consenso firmato", PDF), &same_site).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(page.get(&r.location()).await.body.contains("Documento allegato"), "confirmed");
    // A cross-site upload is refused.
    let evil = [("origin", "https://evil.example"), ("host", "localhost")];
    let r = page.raw_with("POST", &path, &content_type, &form("X", PDF), &evil).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Erasure on request takes the signed documents and their files with the identity.
    let files = || walk(&documents_dir(&app.key_file));
    assert_eq!(files(), 1);
    let r = api
        .json(
            "POST",
            &format!("/api/v1/persons/{person}/erasure"),
            serde_json::json!({"request": "richiesta del 12/03"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(files(), 0, "the file went with the identity");
    let listed = api.get(&format!("/api/v1/persons/{person}/documents")).await.json();
    assert!(listed["documents"].as_array().expect("list").is_empty());

    // A restricted record takes no new document.
    let r = api
        .json(
            "POST",
            &format!("/api/v1/persons/{person}/restriction"),
            serde_json::json!({"reason": "contesta i dati"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = upload(&api, person, &format!("consent:{consent}"), "Consenso", "c.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

/// A new person of Anna's with a consent and its signed form; returns the person.
pub(crate) async fn one_signed_consent(app: &TestApp, n: usize) -> i64 {
    let anna = app.actor("anna").await;
    let api = app.api_client("anna").await;
    let r = api.json("POST", "/api/v1/persons", crate::support::nth_registration(anna.user_id, "Firmata", n)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let person = r.json()["person_id"].as_i64().expect("id");
    let social = app.org_id("Servizio sociale").await.to_string();
    let consent = serde_json::json!({"organisation_id": social, "purpose": "progetto_personalizzato", "start_date": "2026-02-10"});
    let r = api.json("POST", &format!("/api/v1/persons/{person}/consents"), consent).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let consent = r.json()["id"].as_i64().expect("consent id");
    let r =
        upload(&api, person, &format!("consent:{consent}"), "Consenso", "consenso.pdf", &format!("{PDF}% {n}\n")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    person
}

/// Regular files under a directory, at any depth.
pub(crate) fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { usize::from(e.path().is_file()) }).sum()
}
