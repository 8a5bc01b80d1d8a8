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
        .login("cm1", percorsi_service::synthetic::BENCH_PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("log in as cm1 ({e}); run bench-data first"))?;
    let app = percorsi_web::router(svc.clone(), percorsi_web::WebConfig { secure_cookies: false });
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
