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
