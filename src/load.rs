//! `percorsi bench-load`: an open-loop load generator against running servers over real HTTP.
//!
//! Requests leave at a fixed rate whatever the answers (so a slow server cannot slow the
//! generator down and hide its own latency), and each latency is measured from the moment the
//! request was due. The mix is what a network's working day looks like: person searches and
//! pathway pages, intervention pages, a report table, and a few writes.

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Http = Client<HttpConnector, Full<Bytes>>;

pub struct LoadArgs {
    /// One or more servers; requests are spread over them in turn (two app servers behind a
    /// load balancer).
    pub urls: Vec<String>,
    pub rates: Vec<u32>,
    pub seconds: u64,
    /// API token of a case manager (searches, pathways, interventions, writes).
    pub token: String,
    /// API token of an analyst (report tables).
    pub analyst_token: String,
    /// Share of report-table requests, in hundredths (the rest of the mix keeps its proportions).
    pub report_percent: u32,
}

/// What the mix needs to know, read once through the API, and who asks.
struct Targets {
    persons: Vec<i64>,
    interventions: Vec<i64>,
    programme: i64,
    token: String,
    analyst_token: String,
    mix: [(Kind, u32); 5],
}

#[derive(Clone, Copy)]
enum Kind {
    Search,
    Pathway,
    Intervention,
    Report,
    Write,
}

/// The share of each kind of request, in hundredths, given the share of report tables: a
/// report recomputes a table over every intervention of the programme, so its share decides
/// much of the CPU the mix needs.
fn mix(report_percent: u32) -> [(Kind, u32); 5] {
    let report = report_percent.min(50);
    let rest = 100 - report;
    let write = rest / 10;
    let intervention = rest * 2 / 10;
    let pathway = rest * 3 / 10;
    let search = rest - write - intervention - pathway;
    [
        (Kind::Search, search),
        (Kind::Pathway, pathway),
        (Kind::Intervention, intervention),
        (Kind::Report, report),
        (Kind::Write, write),
    ]
}

/// Parts of surnames as `bench-data` makes them (syllables: "Bacefeli", …), each found in
/// 0.4–3% of the people, so a search returns a few of the organisation's people as in real use.
const NAMES: [&str; 8] = ["Bac", "Fel", "Rit", "Mab", "Leno", "Dofa", "Cera", "Nabe"];

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    if args.urls.is_empty() || args.rates.is_empty() {
        bail!("give at least one --url and one rate");
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(2048).build(connector);
    let targets = Arc::new(discover(&client, &args).await?);
    let shares = mix(args.report_percent).map(|(_, s)| s);
    println!(
        "mix: {}% person search, {}% pathway, {}% intervention, {}% report table, {}% writes (monitoring)",
        shares[0], shares[1], shares[2], shares[3], shares[4]
    );
    println!(
        "servers {}; {} people, {} interventions visible to the case manager; programme {} for the reports",
        args.urls.join(", "),
        targets.persons.len(),
        targets.interventions.len(),
        targets.programme
    );
    println!("| rate req/s | sent | ok | 503 | errors | p50 ms | p95 ms | p99 ms | max ms | 503 p99 ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for rate in &args.rates {
        let r = phase(&client, &args, &targets, *rate).await;
        println!(
            "| {rate} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            r.sent,
            r.ok.len(),
            r.overloaded.len(),
            r.errors,
            pct(&r.ok, 50.0),
            pct(&r.ok, 95.0),
            pct(&r.ok, 99.0),
            pct(&r.ok, 100.0),
            if r.overloaded.is_empty() { "–".to_string() } else { format!("{:.1}", pct(&r.overloaded, 99.0)) }
        );
        if let Some(e) = &r.first_error {
            println!("  first error: {e}");
        }
        // Let the servers settle between phases.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    Ok(())
}

#[derive(Default)]
struct PhaseResult {
    sent: u64,
    ok: Vec<f64>,
    overloaded: Vec<f64>,
    errors: u64,
    first_error: Option<String>,
}

enum Outcome {
    Ok(f64),
    Overloaded(f64),
    Error(String),
}

async fn phase(client: &Http, args: &LoadArgs, targets: &Arc<Targets>, rate: u32) -> PhaseResult {
    let total = u64::from(rate) * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(rate);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let (client, targets, tx) = (client.clone(), targets.clone(), tx.clone());
        let url = args.urls[(i % args.urls.len() as u64) as usize].clone();
        tokio::spawn(async move {
            let outcome = one(&client, &url, &targets, seed, due).await;
            let _ = tx.send(outcome);
        });
    }
    drop(tx);
    let mut r = PhaseResult { sent: total, ..Default::default() };
    while let Some(o) = rx.recv().await {
        match o {
            Outcome::Ok(ms) => r.ok.push(ms),
            Outcome::Overloaded(ms) => r.overloaded.push(ms),
            Outcome::Error(e) => {
                r.errors += 1;
                r.first_error.get_or_insert(e);
            }
        }
    }
    r.ok.sort_by(f64::total_cmp);
    r.overloaded.sort_by(f64::total_cmp);
    r
}

async fn one(client: &Http, url: &str, t: &Targets, seed: u64, due: Instant) -> Outcome {
    let (token, analyst) = (t.token.as_str(), t.analyst_token.as_str());
    let pick = |n: usize| if n == 0 { 0 } else { ((seed >> 17) as usize) % n };
    let mut roll = (seed >> 40) as u32 % 100;
    let mut kind = Kind::Search;
    for (k, share) in t.mix {
        if roll < share {
            kind = k;
            break;
        }
        roll -= share;
    }
    let (method, path, body, bearer) = match kind {
        Kind::Search => (Method::GET, format!("/api/v1/persons?q={}", NAMES[pick(NAMES.len())]), None, token),
        Kind::Pathway => (Method::GET, format!("/api/v1/persons/{}", t.persons[pick(t.persons.len())]), None, token),
        Kind::Intervention => (
            Method::GET,
            format!("/api/v1/interventions/{}", t.interventions[pick(t.interventions.len())]),
            None,
            token,
        ),
        Kind::Report => {
            (Method::GET, format!("/api/v1/reports?programme_id={}&table={}", t.programme, 1 + pick(14)), None, analyst)
        }
        Kind::Write => (
            Method::PUT,
            format!("/api/v1/interventions/{}/monitoring", t.interventions[pick(t.interventions.len())]),
            Some(format!(
                r#"{{"relapse_count": "{}", "legal_substance_use": "no", "illegal_substance_use": "no"}}"#,
                pick(3)
            )),
            token,
        ),
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), send(client, method, url, &path, bearer, body)).await;
    let ms = due.elapsed().as_secs_f64() * 1000.0;
    match answer {
        Err(_) => Outcome::Error(format!("{path}: no answer within 10 s")),
        Ok(Err(e)) => Outcome::Error(format!("{path}: {e}")),
        Ok(Ok(status)) if status == StatusCode::SERVICE_UNAVAILABLE => Outcome::Overloaded(ms),
        // A refused write (e.g. an intervention that is not running) is a correct answer.
        Ok(Ok(status)) if status.is_success() || status == StatusCode::UNPROCESSABLE_ENTITY => Outcome::Ok(ms),
        Ok(Ok(status)) => Outcome::Error(format!("{path}: {status}")),
    }
}

async fn send(
    client: &Http,
    method: Method,
    base: &str,
    path: &str,
    bearer: &str,
    body: Option<String>,
) -> anyhow::Result<StatusCode> {
    let mut req = Request::builder().method(method).uri(format!("{base}{path}"));
    req = req.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).context("request")?;
    let res = client.request(req).await.context("HTTP")?;
    let status = res.status();
    res.into_body().collect().await.context("body")?;
    Ok(status)
}

async fn get_json(client: &Http, base: &str, path: &str, bearer: &str) -> anyhow::Result<serde_json::Value> {
    let req = Request::get(format!("{base}{path}"))
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .body(Full::new(Bytes::new()))
        .context("request")?;
    let res = client.request(req).await.with_context(|| format!("GET {base}{path}"))?;
    let status = res.status();
    let body = res.into_body().collect().await.context("body")?.to_bytes();
    if !status.is_success() {
        bail!("GET {path}: {status} {}", String::from_utf8_lossy(&body));
    }
    serde_json::from_slice(&body).context("JSON")
}

async fn discover(client: &Http, args: &LoadArgs) -> anyhow::Result<Targets> {
    let base = &args.urls[0];
    let ids = |v: &serde_json::Value, key: &str| -> Vec<i64> {
        v.as_array().map(|a| a.iter().filter_map(|x| x[key].as_i64()).collect()).unwrap_or_default()
    };
    let persons = ids(&get_json(client, base, "/api/v1/persons", &args.token).await?, "id");
    let due = get_json(client, base, "/api/v1/interventions/due", &args.token).await?;
    let interventions: Vec<i64> =
        due.as_array().map(|a| a.iter().filter_map(|d| d["intervention"]["id"].as_i64()).collect()).unwrap_or_default();
    let programmes = get_json(client, base, "/api/v1/programmes", &args.analyst_token).await?;
    let programme = ids(&programmes, "id").into_iter().next().context("no programme visible to the analyst")?;
    if persons.is_empty() || interventions.is_empty() {
        bail!("the case manager sees no people or interventions: run bench-data first");
    }
    Ok(Targets {
        persons,
        interventions,
        programme,
        token: args.token.clone(),
        analyst_token: args.analyst_token.clone(),
        mix: mix(args.report_percent),
    })
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
