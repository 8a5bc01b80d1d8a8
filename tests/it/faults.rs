//! Faults of the environment: a full disk, a read-only database. Nothing is acknowledged that
//! is not stored, every failure is a 503 with a translated message (never a 500 or an empty
//! answer), `/readyz` says so, and the server recovers by itself once the cause goes away.

use crate::support::{nth_registration, postgres_url, sqlx_exec, TestApp};
use axum::http::StatusCode;
use percorsi_service::store::StoreOptions;

#[tokio::test]
async fn a_full_disk_loses_no_acknowledged_write_and_recovers_by_itself() {
    if postgres_url().is_some() {
        return; // The size limit is SQLite's; PostgreSQL's disk is the server's.
    }
    let app = TestApp::new().await;
    // Ballast an operator can delete to free space, then a server whose database may not grow.
    sqlx_exec(&app.svc.store().clone(), "CREATE TABLE ballast (b BLOB)").await;
    sqlx_exec(&app.svc.store().clone(), "INSERT INTO ballast SELECT randomblob(200000) FROM persons LIMIT 8").await;
    let cap = app.svc.store().size_bytes().await.expect("size") as u64 + 64 * 1024;
    let full = app.server_with(&app.db_url, StoreOptions { max_size_bytes: Some(cap), ..Default::default() }).await;
    let anna = app.actor("anna").await;
    let client = full.api_client("anna").await;

    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 0..3000 {
        let r = client.json("POST", "/api/v1/persons", nth_registration(anna.user_id, "Pieno", n)).await;
        match r.status {
            StatusCode::CREATED => acknowledged.push(r.json()["person_id"].as_i64().expect("an id")),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(r.json()["error"]["code"], "unavailable");
                assert!(r.body.contains("disk is full"), "says why: {}", r.body);
                assert_eq!(r.header("retry-after").as_deref(), Some("2"));
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
            other => panic!("a full disk answers 201 or 503, never {other}: {}", r.body),
        }
    }
    assert_eq!(refused, 5, "the cap was reached after {} registrations", acknowledged.len());
    assert!(!acknowledged.is_empty(), "some writes fitted before the disk filled");
    assert_eq!(full.client().get("/readyz").await.status, StatusCode::SERVICE_UNAVAILABLE, "not ready while full");

    // Every acknowledged write is stored (read through the other server).
    for id in &acknowledged {
        app.svc.pathway(&anna, *id).await.unwrap_or_else(|e| panic!("acknowledged person {id} is stored: {e}"));
    }

    // The operator frees space: the same server takes writes again, without a restart.
    sqlx_exec(&app.svc.store().clone(), "DELETE FROM ballast").await;
    let r = client.json("POST", "/api/v1/persons", nth_registration(anna.user_id, "Pieno", 9999)).await;
    assert_eq!(r.status, StatusCode::CREATED, "recovered: {}", r.body);
    assert_eq!(full.client().get("/readyz").await.status, StatusCode::OK, "ready again");
    let id = r.json()["person_id"].as_i64().expect("an id");
    app.svc.pathway(&anna, id).await.expect("stored");
}

#[tokio::test]
async fn a_read_only_database_is_not_ready_and_refuses_writes_with_503() {
    if postgres_url().is_some() {
        return;
    }
    let app = TestApp::new().await;
    let url = app.db_url.replace("mode=rwc", "mode=ro");
    let ro = app.server_with(&url, StoreOptions::default()).await;
    let r = ro.client().get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("accepts no writes"), "{}", r.body);
    // Pages that need no write still answer; a write is refused with the reason, in Italian.
    assert_eq!(ro.client().get("/login").await.status, StatusCode::OK);
    let r = ro.client().post_raw("/login", &[("username", "anna"), ("password", "percorsi-demo")]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("non accetta modifiche"), "{}", r.body);
}
