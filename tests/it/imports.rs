//! Historical imports written in short transactions (ADR 0015): a file is seen whole or not at
//! all by every reader (reports, the programme overview, the extract), on any app server; an
//! import that dies before publishing is discarded; two imports never interleave.

use crate::support::{postgres_url, sqlx_exec, TestApp};
use percorsi_service::import::Importer;
use percorsi_service::reports::{ReportQuery, Viewer};
use percorsi_service::store::StoreOptions;
use percorsi_service::synthetic::{history_csv, BENCH_ANALYST};
use percorsi_service::ServiceError;

const IMPORTER: Importer<'static> = Importer::Cli { username: BENCH_ANALYST, shared: true };

/// What three readers count for the programme: interventions in the (exact) outcome report, in
/// the programme overview, and lines of the pseudonymised extract.
async fn seen(app: &TestApp, programme: i64) -> (u64, i64, usize) {
    let q = ReportQuery { programme_id: programme.to_string(), ..Default::default() };
    let view = app.svc.export_report(Viewer::System { suppress: false }, &q, "json").await.expect("report");
    let mut tx = app.svc.store().read().await.expect("read");
    let quotas = tx.quotas(programme).await.expect("quotas");
    let overview = quotas.iter().map(|q| q.proposed + q.running + q.concluded + q.interrupted).sum();
    let extract = tx.extract_lines(programme).await.expect("extract").len();
    assert_eq!(tx.counts_out_of_step().await.expect("counts"), Vec::<i64>::new(), "counts agree with the rows");
    tx.commit().await.expect("commit");
    (view.report.interventions.expect("exact count"), overview, extract)
}

/// Staging imports left (whatever their heartbeat).
async fn staging(app: &TestApp) -> Vec<i64> {
    let mut tx = app.svc.store().read().await.expect("read");
    let left = tx.abandoned_imports("9999").await.expect("staging imports");
    tx.commit().await.expect("commit");
    left
}

#[tokio::test]
async fn an_import_is_seen_whole_or_not_at_all_and_an_abandoned_one_is_discarded() {
    let app = TestApp::new().await;
    let (programme, orgs) = app.svc.prepare_history(6).await.expect("history programme");
    // Three chunks of interventions: on PostgreSQL two of them are written at once (ADR 0015).
    let csv = history_csv(&orgs, 4500, 7);
    let out = app.svc.import_history(IMPORTER, programme, "storico.csv", csv.as_bytes()).await.expect("import");
    assert!(out.written && out.added > 4000, "{out:?}");
    let n = out.added;
    assert_eq!(seen(&app, programme).await, (n as u64, n as i64, n));

    // What a crash after the last chunk and before the publishing step leaves behind: every
    // row written, the import still staging. A server that loads the extract now sees none.
    let store = app.svc.store().clone();
    let stage = format!(
        "UPDATE imports SET state = 'staging', heartbeat = '2000-01-01T00:00:00.000000Z' WHERE programme_id = {programme}"
    );
    sqlx_exec(&store, &stage).await;
    let other = app.second_server().await;
    assert_eq!(seen(&other, programme).await, (0, 0, 0), "a staging import is invisible to every reader");

    // Published, it appears whole on that server, although its facts carry revisions older than
    // what the server has read since: readers do not move past a staging import.
    sqlx_exec(&store, &format!("UPDATE imports SET state = 'published' WHERE programme_id = {programme}")).await;
    assert_eq!(seen(&other, programme).await, (n as u64, n as i64, n), "published: seen whole");

    // Abandoned (its heartbeat stopped two minutes ago): discarded, rows and people with it.
    sqlx_exec(&store, &stage).await;
    assert_eq!(other.svc.discard_abandoned_imports().await.expect("discard"), 1);
    assert!(staging(&app).await.is_empty());
    let third = app.second_server().await;
    assert_eq!(seen(&third, programme).await, (0, 0, 0), "nothing of the abandoned import is left");
    let again = app.svc.import_history(IMPORTER, programme, "storico.csv", csv.as_bytes()).await.expect("import");
    assert_eq!((again.added, again.present, again.persons_added), (n, 0, out.persons_added), "written anew, whole");
    assert_eq!(seen(&third, programme).await, (n as u64, n as i64, n));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_imports_at_once_on_two_servers_write_the_file_once() {
    let app = TestApp::new().await;
    let (programme, orgs) = app.svc.prepare_history(6).await.expect("history programme");
    let csv = history_csv(&orgs, 3000, 5);
    let second = app.second_server().await;
    let (a, b) = tokio::join!(
        app.svc.import_history(IMPORTER, programme, "a.csv", csv.as_bytes()),
        second.svc.import_history(IMPORTER, programme, "b.csv", csv.as_bytes()),
    );
    let mut added = 0;
    let mut written = 0;
    for outcome in [a, b] {
        match outcome {
            Ok(o) => {
                assert!(o.written, "{o:?}");
                assert_eq!(o.added + o.present, o.rows, "every row added or recognised: {o:?}");
                added += o.added;
                written += 1;
            }
            Err(ServiceError::Conflict(key)) => assert_eq!(key, "err-import-in-progress"),
            Err(e) => panic!("a concurrent import is refused with 409, never {e:?}"),
        }
    }
    assert!(written >= 1, "one of the two imports was written");
    assert!(staging(&app).await.is_empty(), "no import left staging");
    let rows = csv.lines().filter(|l| !l.trim().is_empty()).count() - 1;
    assert_eq!(added, rows, "each row written exactly once");
    let third = app.second_server().await;
    assert_eq!(seen(&third, programme).await, (rows as u64, rows as i64, rows));
}

#[tokio::test]
async fn a_disk_that_fills_during_an_import_leaves_nothing_of_it() {
    if postgres_url().is_some() {
        return; // The size limit is SQLite's; PostgreSQL's disk is the server's.
    }
    let app = TestApp::new().await;
    let (programme, orgs) = app.svc.prepare_history(6).await.expect("history programme");
    let csv = history_csv(&orgs, 6000, 3);
    // Room for a few chunks of the file, not for all of it.
    let cap = app.svc.store().size_bytes().await.expect("size") as u64 + 1024 * 1024;
    let full = app.server_with(&app.db_url, StoreOptions { max_size_bytes: Some(cap), ..Default::default() }).await;
    match full.svc.import_history(IMPORTER, programme, "grande.csv", csv.as_bytes()).await {
        Err(ServiceError::Unavailable(kind)) => assert_eq!(kind, percorsi_service::store::Unavailable::DiskFull),
        other => panic!("a full disk fails the import with 503: {other:?}"),
    }
    // The failed import is discarded in the background, in short steps, by the server it ran on.
    for _ in 0..200 {
        if staging(&app).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(staging(&app).await.is_empty(), "the failed import was discarded");
    let fresh = app.second_server().await;
    assert_eq!(seen(&fresh, programme).await, (0, 0, 0), "nothing of the failed import is visible or left");
    let out = app.svc.import_history(IMPORTER, programme, "grande.csv", csv.as_bytes()).await.expect("import");
    assert_eq!(out.present, 0, "none of its rows was kept: {out:?}");
    assert_eq!(seen(&fresh, programme).await, (out.added as u64, out.added as i64, out.added));
}
