//! Backup under steady writes, then restore: the copy holds every write acknowledged before
//! the backup began, SQLite finds it sound, its audit chain is intact, and it restores into a
//! working database. Through the service and through the `percorsi` command.

use crate::support::{nth_registration, postgres_url, TestApp};
use axum::http::StatusCode;
use percorsi_service::store::{Store, StoreOptions};
use std::sync::{Arc, Mutex};

async fn codes_missing(db: &std::path::Path, codes: &[String]) -> Vec<String> {
    let url = format!("sqlite://{}?mode=ro", db.display());
    let store =
        Store::connect_with(&url, StoreOptions { read_only: true, ..Default::default() }).await.expect("open copy");
    let mut tx = store.read().await.expect("read");
    let mut missing = Vec::new();
    for c in codes {
        if tx.person_id_by_code(c).await.expect("query").is_none() {
            missing.push(c.clone());
        }
    }
    drop(tx);
    store.close().await;
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_writes_holds_every_earlier_write_and_restores() {
    if postgres_url().is_some() {
        return; // PostgreSQL backups are pg_dump's (README, Operations).
    }
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let client = app.api_client("anna").await;
    crate::documents::one_signed_consent(&app, 1).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop, client) = (acknowledged.clone(), stop.clone(), client.clone());
        tokio::spawn(async move {
            for n in 0..2000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let r = client.json("POST", "/api/v1/persons", nth_registration(anna.user_id, "Copia", n)).await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                let code = r.json()["code"].as_str().expect("code").to_string();
                acknowledged.lock().expect("list").push(code);
            }
        })
    };
    while acknowledged.lock().expect("list").len() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acknowledged.lock().expect("list").clone();
    let dir = std::env::temp_dir().join(format!("percorsi-backup-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    let copy = dir.join("copia.db");
    let summary = app.svc.backup(&copy).await.expect("backup under writes");
    let during = acknowledged.lock().expect("list").len();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.expect("writer");
    assert!(during > before.len(), "writes went on during the backup ({} → {during})", before.len());
    assert_eq!(summary.integrity, "ok");
    assert!(summary.audit_entries > 0);
    assert_eq!(summary.documents, 1, "the signed document's file travels with the copy");
    assert_eq!(crate::documents::walk(&percorsi_service::backup::documents_beside(&copy)), 1);
    assert!(codes_missing(&copy, &before).await.is_empty(), "every write acknowledged before the backup is in it");
    assert!(app.svc.backup(&copy).await.is_err(), "an existing file is never overwritten");

    // Restore into a new place and use it.
    let key = percorsi_service::keyfile::load(&app.key_file).expect("key file").expect("a key");
    let restored = dir.join("ripristino.db");
    let again =
        percorsi_service::backup::restore_sqlite(&copy, &restored, &dir.join("documents-restored"), &key, false)
            .await
            .expect("restore");
    assert_eq!(again.audit_entries, summary.audit_entries);
    assert_eq!(crate::documents::walk(&dir.join("documents-restored")), 1, "the files come back too");
    // A copy whose document file is damaged does not verify.
    let beside = percorsi_service::backup::documents_beside(&copy);
    let damaged = std::fs::read_dir(&beside).expect("dir").flatten().next().expect("subdir").path();
    let file = std::fs::read_dir(&damaged).expect("dir").flatten().next().expect("file").path();
    let original = std::fs::read(&file).expect("read");
    std::fs::write(&file, b"%PDF-altered").expect("write");
    let key_ok = percorsi_service::keyfile::load(&app.key_file).expect("key file").expect("a key");
    assert!(percorsi_service::backup::verify_backup(&copy, &key_ok).await.is_err(), "a damaged document file is found");
    std::fs::write(&file, original).expect("write back");
    assert!(codes_missing(&restored, &before).await.is_empty());
    assert!(
        percorsi_service::backup::restore_sqlite(&copy, &restored, &dir.join("documents-restored"), &key, false)
            .await
            .is_err(),
        "an existing database is replaced only with --force"
    );
    let wrong_key = vec![9u8; 32];
    assert!(percorsi_service::backup::verify_backup(&copy, &wrong_key).await.is_err(), "another installation's key");

    // The operator's command does the same and says what the copy holds.
    let out = app.cli().args(["backup", "--out"]).arg(dir.join("cli.db")).output().expect("run percorsi");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("backup written and verified") && stdout.contains("person"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_backup_is_one_snapshot_that_restores_into_a_working_database() {
    let Some(admin_url) = postgres_url() else { return };
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let client = app.api_client("anna").await;
    let mut codes = Vec::new();
    for n in 0..5 {
        let r = client.json("POST", "/api/v1/persons", nth_registration(anna.user_id, "Copia", 3000 + n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        codes.push(r.json()["code"].as_str().expect("code").to_string());
    }
    crate::documents::one_signed_consent(&app, 1).await;
    let dir = std::env::temp_dir().join(format!("percorsi-pgdump-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    let dump = dir.join("copia.dump");
    let out = app.cli().args(["backup", "--out"]).arg(&dump).output().expect("run percorsi");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("backup written and readable"), "{text}");
    assert!(text.contains("1 document files"), "the signed document's file is beside the dump: {text}");
    assert_eq!(crate::documents::walk(&percorsi_service::backup::documents_beside(&dump)), 1);

    // Restore into a new database, as the README says, and use it.
    let (store, url, _) = crate::support::fresh_store().await;
    store.close().await;
    let restored = std::process::Command::new("pg_restore")
        .args(["--clean", "--if-exists", "--no-owner", "-d"])
        .arg(&url)
        .arg(&dump)
        .output()
        .expect("pg_restore");
    assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
    let copy = Store::connect(&url).await.expect("restored database");
    let key = percorsi_service::keyfile::bind(&copy, &app.key_file, false).await.expect("same key, same fingerprint");
    let svc = percorsi_service::Service::new(copy.clone(), key);
    let audit = svc.verify_audit().await.expect("verify");
    assert!(audit.first_broken.is_none() && audit.entries > 0, "{audit:?}");
    let mut tx = copy.read().await.expect("read");
    for c in &codes {
        assert!(tx.person_id_by_code(c).await.expect("query").is_some(), "{c} restored");
    }
    drop(tx);
    copy.close().await;
    let _ = (admin_url, std::fs::remove_dir_all(dir));
}
