//! Retention (GDPR art. 5(1)(e)): identities and contacts expire a number of years after the
//! last care episode ended; what identifies the person goes, the pseudonymous record and every
//! outcome report stay exactly as they were.

use crate::support::{nth_registration, TestApp};
use axum::http::StatusCode;
use percorsi_service::reports::{ReportQuery, Viewer};
use percorsi_service::retention::RetentionPolicy;

/// Registers someone in care from `start` to `end`, with a phone number; returns their id and code.
async fn cared_for(app: &TestApp, surname: &str, n: usize, start: &str, end: &str) -> (i64, String) {
    let anna = app.actor("anna").await;
    let api = app.api_client("anna").await;
    let mut body = nth_registration(anna.user_id, surname, n);
    body["person"]["phone"] = "+39 055 000000".into();
    body["episode"]["start_date"] = start.into();
    let r = api.json("POST", "/api/v1/persons", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["person_id"].as_i64().expect("id");
    let code = r.json()["code"].as_str().expect("code").to_string();
    let episode = app.svc.pathway(&anna, id).await.expect("pathway").episodes[0].id;
    let close = serde_json::json!({"end_date": end, "closure": "obiettivi_raggiunti"});
    let r = api.json("POST", &format!("/api/v1/episodes/{episode}/close"), close).await;
    assert!(r.status.is_success(), "{}", r.body);
    (id, code)
}

/// Who still has identity, and who still has contacts (whatever the dates).
async fn still_held(app: &TestApp) -> (Vec<i64>, Vec<i64>) {
    use percorsi_service::store::Expired;
    let mut tx = app.svc.store().read().await.expect("read");
    let identity = tx.retention_due(Expired::Identity, "9999-12-31").await.expect("identities");
    let contacts = tx.retention_due(Expired::Contacts, "9999-12-31").await.expect("contacts");
    tx.commit().await.expect("commit");
    (identity, contacts)
}

pub(crate) async fn every_report(app: &TestApp) -> Vec<serde_json::Value> {
    let mut tx = app.svc.store().read().await.expect("read");
    let programmes = tx.programmes().await.expect("programmes");
    tx.commit().await.expect("commit");
    let mut out = Vec::new();
    for p in programmes {
        let q = ReportQuery { programme_id: p.id.to_string(), ..Default::default() };
        let view = app.svc.export_report(Viewer::System { suppress: false }, &q, "json").await.expect("report");
        out.push(serde_json::to_value(&view.report).expect("json"));
    }
    out
}

#[tokio::test]
async fn expired_identities_and_contacts_go_and_every_report_stays_the_same() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let (long_ago, code_before) = cared_for(&app, "Antichi", 31, "2010-03-01", "2014-06-30").await;
    let (a_while_ago, _) = cared_for(&app, "Recenti", 32, "2021-03-01", "2023-01-31").await;
    let reports = every_report(&app).await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");

    let dry = app.svc.run_retention(RetentionPolicy::default(), today, true).await.expect("dry run");
    assert!(dry.anonymised.contains(&long_ago) && !dry.anonymised.contains(&a_while_ago), "{dry:?}");
    assert!(dry.contacts_removed.contains(&a_while_ago) && !dry.contacts_removed.contains(&long_ago), "{dry:?}");
    let (identities, contacts) = still_held(&app).await;
    assert!(identities.contains(&long_ago) && contacts.contains(&a_while_ago), "a dry run changes nothing");

    let done = app.svc.run_retention(RetentionPolicy::default(), today, false).await.expect("run");
    assert_eq!((done.anonymised.clone(), done.contacts_removed.clone()), (dry.anonymised, dry.contacts_removed));

    // The identity is gone, and with it the code that could find the person again.
    let (identities, contacts) = still_held(&app).await;
    assert!(!identities.contains(&long_ago));
    assert!(
        identities.contains(&a_while_ago) && !contacts.contains(&a_while_ago),
        "contacts alone expired for the other"
    );
    let mut tx = app.svc.store().read().await.expect("read");
    assert_eq!(tx.person_id_by_code(&code_before).await.expect("lookup"), None, "the old code finds nobody");
    tx.commit().await.expect("commit");
    let mut again = nth_registration(anna.user_id, "Antichi", 31);
    again["episode"]["start_date"] = "2026-11-01".into();
    let r = app.api_client("anna").await.json("POST", "/api/v1/persons", again).await;
    assert_eq!(r.json()["outcome"], "created", "an anonymised record is linked to nobody: {}", r.body);

    // Every outcome report is the same, cell by cell.
    let fresh = app.second_server().await;
    assert_eq!(every_report(&fresh).await, reports);
    // Each change is on the trail, without values; a second run finds nothing more.
    let auditor = app.actor("auditor").await;
    for id in [long_ago, a_while_ago] {
        let q = percorsi_service::audit::AuditQuery { entity: format!("person:{id}"), ..Default::default() };
        let rows = app.svc.audit_trail(&auditor, &q, None).await.expect("trail");
        let e = rows.iter().find(|r| r.entry.action == "retention").expect("audited");
        assert!(e.entry.detail.is_none() && !e.entry.reason.clone().unwrap_or_default().contains("Antichi"));
    }
    let second = app.svc.run_retention(RetentionPolicy::default(), today, false).await.expect("run");
    assert!(!second.anonymised.contains(&long_ago) && !second.contacts_removed.contains(&a_while_ago));

    // The command: a dry run says what it would do; a contacts period longer than the identity's is refused.
    let out = app.cli().args(["retention", "run", "--dry-run"]).output().expect("run percorsi");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dry run"));
    let out = app.cli().args(["retention", "run", "--contacts-years", "20"]).output().expect("run percorsi");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("contacts-years"));
}
