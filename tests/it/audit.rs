use crate::support::{sqlx_exec, TestApp};
use axum::http::StatusCode;
use percorsi_service::audit::AuditQuery;
use percorsi_service::store::Backend;

#[tokio::test]
async fn reads_and_changes_are_audited_with_who_where_role_and_why() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let followed = app.svc.followed(&anna).await.unwrap();
    let id = followed.iter().find(|p| !p.anonymous).expect("an identified person").id;
    let c = app.login("anna").await;
    assert_eq!(c.get(&format!("/persone/{id}")).await.status, StatusCode::OK);
    let auditor = app.actor("auditor").await;
    let id_text = id.to_string();
    let rows = app
        .svc
        .audit_trail(&auditor, &AuditQuery { entity: format!("person:{id_text}"), ..Default::default() }, None)
        .await
        .unwrap();
    let read = rows.iter().find(|r| r.entry.action == "read").expect("the read was audited");
    assert_eq!(read.entry.username, "anna");
    assert_eq!(read.entry.organisation_id, Some(anna.organisation_id));
    assert_eq!(read.entry.role.as_deref(), Some("case_manager"));
    assert!(read.entry.reason.as_deref().unwrap().contains("con identità"));
}

#[tokio::test]
async fn audit_log_is_append_only_and_tampering_is_detected() {
    let app = TestApp::new().await;
    let c = app.login("anna").await;
    c.get("/home").await;
    let report = app.svc.verify_audit().await.unwrap();
    assert!(report.first_broken.is_none());
    assert!(report.entries >= 3);

    let store = app.svc.store();
    let update = "UPDATE audit_log SET username = 'mallory' WHERE id = 2";
    let refused = percorsi_service::store::raw_execute(store, update).await;
    assert!(refused.is_err(), "the database itself refuses changes to the trail");
    assert!(percorsi_service::store::raw_execute(store, "DELETE FROM audit_log WHERE id = 3").await.is_err());

    // An attacker with full database access disables the guard and edits an entry.
    match store.backend() {
        Backend::Sqlite => sqlx_exec(store, "DROP TRIGGER audit_log_no_update").await,
        Backend::Postgres => sqlx_exec(store, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change").await,
    }
    sqlx_exec(store, update).await;
    let report = app.svc.verify_audit().await.unwrap();
    let broken = report.first_broken.expect("tampering is detected");
    assert_eq!(broken.id, 2);
    assert_eq!(broken.reason, "content_hash_mismatch");
    assert_eq!(report.entries, 1, "the entries before the tampered one are intact");

    // The operator's command reports it too, with a failing exit status.
    let out = app.cli().args(["audit", "verify"]).output().expect("run percorsi");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("BROKEN at entry 2"), "{stdout}");
}

#[tokio::test]
async fn verify_command_passes_on_an_intact_trail() {
    let app = TestApp::new().await;
    app.login("anna").await;
    let out = app.cli().args(["audit", "verify"]).output().expect("run percorsi");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("audit trail intact"));
}

/// The chain alone cannot tell that its last entries were removed: what is left still links
/// up. An anchor kept elsewhere can, and the command says which anchored entry is gone.
#[tokio::test]
async fn removing_the_last_entries_is_detected_against_an_anchor() {
    let app = TestApp::new().await;
    app.login("anna").await;
    let dir = crate::support::TempDir(std::env::temp_dir().join(format!("percorsi-anchor-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("anchor dir");
    let file = dir.0.join(format!("anchors-{:?}.jsonl", std::thread::current().id()));
    let anchor = app.cli().args(["audit", "anchor", "--out"]).arg(&file).output().expect("run percorsi");
    assert!(anchor.status.success(), "{}", String::from_utf8_lossy(&anchor.stderr));
    let kept: percorsi_service::audit::Anchor =
        serde_json::from_str(std::fs::read_to_string(&file).expect("anchor file").trim()).expect("an anchor line");
    let printed: percorsi_service::audit::Anchor =
        serde_json::from_slice(&anchor.stdout).expect("the anchor is printed too");
    assert_eq!(kept, printed);
    // The anchor is the head of the chain, and taking it was itself recorded.
    let head = app.svc.audit_head().await.expect("head").expect("entries");
    assert_eq!((head.last_id, head.hash.clone(), head.entries), (kept.last_id, kept.hash.clone(), kept.entries));

    // More work after the anchor, then the trail agrees with it.
    app.login("anna").await.get("/home").await;
    let verify = |files: &[&std::path::Path]| {
        let mut c = app.cli();
        c.args(["audit", "verify"]);
        for f in files {
            c.arg("--anchor").arg(f);
        }
        let out = c.output().expect("run percorsi");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (code, stdout) = verify(&[&file]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("agrees with 1 anchors"), "{stdout}");

    // A database administrator disables the guard and removes the tail, anchored entry included.
    let store = app.svc.store();
    match store.backend() {
        Backend::Sqlite => sqlx_exec(store, "DROP TRIGGER audit_log_no_delete").await,
        Backend::Postgres => sqlx_exec(store, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change").await,
    }
    sqlx_exec(store, &format!("DELETE FROM audit_log WHERE id >= {}", kept.last_id)).await;
    let (code, stdout) = verify(&[]);
    assert_eq!(code, Some(0), "without an anchor the shortened chain still links up: {stdout}");
    assert!(stdout.contains("without an anchor"), "and the command says what it cannot see: {stdout}");
    let (code, stdout) = verify(&[&file]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(&format!("entry {} anchored", kept.last_id)) && stdout.contains("removed"), "{stdout}");

    // An anchor whose entry is there with another hash: the chain was rebuilt.
    let rebuilt = percorsi_service::audit::Anchor { last_id: 1, entries: 1, hash: "0".repeat(64), ..kept.clone() };
    let findings = app.svc.check_anchors(&[rebuilt]).await.expect("check");
    assert_eq!(findings.iter().map(|f| f.problem).collect::<Vec<_>>(), vec!["rewritten"]);
    // The API gives an auditor the head to keep; others are refused.
    let api = app.api_client("auditor").await.get("/api/v1/audit/head").await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    assert!(api.json()["last_id"].as_i64().is_some(), "{}", api.body);
    assert_eq!(app.api_client("anna").await.get("/api/v1/audit/head").await.status, StatusCode::FORBIDDEN);
}

/// The audit page names what was done and to what in the reader's language, not as codes.
#[tokio::test]
async fn the_audit_page_names_actions_and_records_in_the_readers_language() {
    let app = TestApp::new().await;
    let person = app.svc.followed(&app.actor("anna").await).await.expect("followed")[0].id;
    assert_eq!(app.login("anna").await.get(&format!("/persone/{person}")).await.status, StatusCode::OK);
    let page = app.login("auditor").await.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("consultazione: scheda della persona"), "the pathway read, in Italian");
    assert!(!page.body.contains("read person"), "no raw codes");
}
