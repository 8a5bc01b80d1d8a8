//! `percorsi bench`: times the pages people use most, through the whole HTTP stack (router,
//! session, policy, SQL, templates) in process, over data made by `percorsi bench-data`.

use anyhow::{bail, Context};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use percorsi_service::Service;
use std::time::{Duration, Instant};
use tower::ServiceExt;

pub async fn run(svc: Service, iterations: usize) -> anyhow::Result<()> {
    let login = svc
        .login("cm1", percorsi_service::synthetic::BENCH_PASSWORD, None)
        .await
        .map_err(|e| anyhow::anyhow!("log in as cm1 ({e}); run bench-data first"))?;
    let app = percorsi_web::router(svc.clone(), percorsi_web::WebConfig::default());
    let cookie = format!("percorsi_session={}", login.session_token);
    let get = |path: String| {
        let (app, cookie) = (app.clone(), cookie.clone());
        async move {
            let req = Request::get(&path).header(header::COOKIE, cookie).body(Body::empty()).context("request")?;
            let res = app.oneshot(req).await.context("request")?;
            let status = res.status();
            let body = res.into_body().collect().await.context("body")?.to_bytes();
            if status != StatusCode::OK {
                bail!("{path}: {status}");
            }
            Ok::<_, anyhow::Error>(String::from_utf8_lossy(&body).into_owned())
        }
    };
    let home = get("/home".into()).await?;
    let person = first_link(&home, "/persone/").context("cm1 follows nobody: run bench-data")?;
    let list = get("/interventi".into()).await?;
    let intervention = first_link(&list, "/interventi/").unwrap_or_else(|| "/interventi".into());
    let programmes = get("/programmi".into()).await?;
    let programme = first_link(&programmes, "/programmi/").context("no programme")?;
    let pages = [
        ("home (people followed)", "/home".to_string()),
        ("person search", "/persone?q=Beba".to_string()),
        ("pathway page", person),
        ("due list", "/interventi".to_string()),
        ("intervention page", intervention),
        ("programme overview (budget, quotas)", programme),
    ];
    println!("| page | median ms | p95 ms | max ms |\n|---|---:|---:|---:|");
    for (name, path) in pages {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            get(path.clone()).await?;
            times.push(t.elapsed());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
        println!("| {name} | {:.1} | {:.1} | {:.1} |", ms(times[times.len() / 2]), ms(p95), ms(times[times.len() - 1]));
    }
    Ok(())
}

fn first_link(html: &str, prefix: &str) -> Option<String> {
    let needle = format!("href=\"{prefix}");
    let i = html.find(&needle)? + 6;
    let j = html[i..].find('"')? + i;
    Some(html[i..j].to_string())
}

#[derive(Debug, Clone, Copy)]
pub struct ReportSize {
    /// No server runs on the database: the import leaves out its pauses (`import --offline`).
    pub offline: bool,
    pub interventions: usize,
    pub organisations: usize,
    pub seed: u64,
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    format!("{:.1} | {:.1} | {:.1}", ms(times[times.len() / 2]), ms(p95), ms(times[times.len() - 1]))
}

/// `percorsi bench-reports`: generates a historical import file, imports it (rows/s), imports
/// it again (nothing added), then times the outcome report through the API: the first report
/// of a fresh process (loading the extract), the warm full report as JSON and XLSX, and one
/// filtered table.
pub async fn reports(
    svc: Service,
    url: &str,
    size: ReportSize,
    iterations: usize,
    csv_out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use percorsi_service::import::Importer;
    use percorsi_service::synthetic::{history_csv, BENCH_ANALYST};
    let engine = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    let (programme, orgs) = svc.prepare_history(size.organisations).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = Instant::now();
    let csv = history_csv(&orgs, size.interventions, size.seed);
    println!(
        "engine {engine}; {} interventions over {} organisations; file {:.1} MB generated in {:.1} s",
        size.interventions,
        orgs.len(),
        csv.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    if let Some(path) = csv_out {
        std::fs::write(path, &csv).with_context(|| format!("writing {}", path.display()))?;
    }
    for round in ["import", "re-import (all present)"] {
        let t = Instant::now();
        let out = svc
            .import_history(
                Importer::Cli { username: BENCH_ANALYST, shared: !size.offline },
                programme,
                "bench.csv",
                csv.as_bytes(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !out.written {
            bail!("import refused: {:?}", out.errors.first());
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{round}: {} rows, {} added, {} present in {secs:.1} s = {:.0} rows/s",
            out.rows,
            out.added,
            out.present,
            out.rows as f64 / secs
        );
    }
    // What a running server does after an import (reads the new facts, writes a checkpoint of
    // the extract), so that the first report of a fresh process below starts as it would.
    let t = Instant::now();
    svc.checkpoint_report_extract().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("extract read and checkpointed after the import: {:.1} s", t.elapsed().as_secs_f64());
    let membership = svc.cli_membership(BENCH_ANALYST, None, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = svc.create_api_token(membership.id, "bench", 1).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let cold = svc.with_cold_cache();
    let call = |svc: Service, path: String| {
        let token = token.clone();
        async move {
            let app = percorsi_web::router(svc, percorsi_web::WebConfig::default());
            let req = Request::get(&path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .context("request")?;
            let res = app.oneshot(req).await.context("request")?;
            let status = res.status();
            let body = res.into_body().collect().await.context("body")?.to_bytes();
            if status != StatusCode::OK {
                bail!("{path}: {status} {}", String::from_utf8_lossy(&body));
            }
            Ok::<usize, anyhow::Error>(body.len())
        }
    };
    let full = format!("/api/v1/reports?programme_id={programme}");
    let t = Instant::now();
    call(cold.clone(), full.clone()).await?;
    println!(
        "first report of a fresh process (loads the extract, then computes): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let cases = [
        ("full report, 14 tables, JSON", full.clone()),
        ("full report, 14 sheets, XLSX", format!("{full}&format=xlsx")),
        (
            "one filtered table (5: SerD, socio-terapeutico, 2016–2017)",
            format!("{full}&table=5&organisation_kind=ausl_serd&intervention_type=socio_terapeutico&from=2016-01-01&to=2017-12-31"),
        ),
    ];
    println!("| request | median ms | p95 ms | max ms |\n|---|---:|---:|---:|");
    for (name, path) in cases {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            call(cold.clone(), path.clone()).await?;
            times.push(t.elapsed());
        }
        println!("| {name} | {} |", summary(&mut times));
    }
    // The same extract as a FHIR bulk export (k-anonymous rows, NDJSON files kept in the database).
    let actor = percorsi_service::auth::actor_from(&membership).context("the bench analyst's role")?;
    let mut times = Vec::with_capacity(iterations);
    let mut files = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        let id = svc.fhir_bulk_export(&actor, programme, &[], "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed());
        match svc.fhir_bulk_status(&actor, id).await.map_err(|e| anyhow::anyhow!("{e}"))? {
            percorsi_service::bulk_export::BulkStatus::Complete { files: f, .. } => files = f,
            other => bail!("the bulk export did not complete: {other:?}"),
        }
        svc.fhir_bulk_delete(&actor, id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut by_type: std::collections::BTreeMap<&str, (i64, usize)> = std::collections::BTreeMap::new();
    for f in &files {
        let e = by_type.entry(f.resource_type.as_str()).or_default();
        *e = (e.0 + f.resources, e.1 + 1);
    }
    let what = by_type.iter().map(|(t, (n, k))| format!("{n} {t} in {k} files")).collect::<Vec<_>>().join(" + ");
    println!("| FHIR bulk export, NDJSON ({what}) | {} |", summary(&mut times));
    Ok(())
}

/// `percorsi bench-login`: how long a failed sign-in takes for an unknown username, a disabled
/// account and a wrong password (ASVS V2.2: they must not be told apart by time). The throttle
/// is cleared before each attempt so that every one takes the checked path; the cases alternate
/// so that drift on the machine falls on all of them alike.
pub async fn login_timing(svc: Service, tries: usize) -> anyhow::Result<()> {
    const DISABLED: &str = "bench-disabilitato";
    if svc.cli_users().await.map_err(|e| anyhow::anyhow!("{e}"))?.iter().all(|u| u.user.username != DISABLED) {
        let org = svc.organisations().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let org = org.first().context("no organisation: run `serve --demo` or `bench-data` first")?;
        let form = percorsi_domain::user::UserForm {
            username: DISABLED.into(),
            display_name: "Account disattivato (benchmark)".into(),
            password: "una-password-qualsiasi".into(),
            organisation_id: org.id.to_string(),
            role: "operatore".into(),
        };
        svc.cli_add_user(&form).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        svc.cli_set_active(DISABLED, false).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let active = svc
        .cli_users()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .find(|u| u.user.active && u.user.username != DISABLED)
        .context("no active account")?
        .user
        .username;
    let cases = [
        ("unknown username", "nessuno-benchmark".to_string()),
        ("disabled account", DISABLED.into()),
        ("wrong password", active),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(tries); cases.len()];
    for i in 0..tries {
        for k in 0..cases.len() {
            let (_, user) = &cases[(i + k) % cases.len()];
            percorsi_service::store::raw_execute(svc.store(), "DELETE FROM login_throttle")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let t = Instant::now();
            let r = svc.login(user, "una-password-sbagliata", None).await;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if !matches!(r, Err(percorsi_service::ServiceError::Unauthenticated)) {
                bail!("{user}: expected a refusal, got {r:?}");
            }
            times[(i + k) % cases.len()].push(ms);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!("| case | tries | median ms | p90 ms |");
    println!("|---|---:|---:|---:|");
    let mut medians = Vec::new();
    for ((name, _), v) in cases.iter().zip(times.iter_mut()) {
        let m = median(v);
        let p90 = v[v.len() * 9 / 10];
        medians.push(m);
        println!("| {name} | {} | {m:.1} | {p90:.1} |", v.len());
    }
    let spread = medians.iter().copied().fold(f64::MIN, f64::max) - medians.iter().copied().fold(f64::MAX, f64::min);
    println!("largest difference between medians: {spread:.2} ms");
    Ok(())
}
