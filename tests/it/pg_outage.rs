//! PostgreSQL stopped and started again under a running app server: while it is down, every
//! request that needs it answers 503 with the reason (not a 10-second wait and a 500), `/readyz`
//! says 503, and once it is back the same server serves again without a restart.
//! Runs in the PostgreSQL run of the suite, on a private cluster it can stop.

use crate::support::postgres_url;
use axum::http::StatusCode;
use percorsi_service::{Service, Store};
use std::path::PathBuf;
use std::process::Command;

struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn as_postgres(&self, program: &str) -> Command {
        let root = std::env::var("USER").map(|u| u == "root").unwrap_or(false)
            || Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
        if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(program));
            c
        } else {
            Command::new(self.bin.join(program))
        }
    }

    fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL installed (scripts/install-deps.sh)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .max()
            .expect("a PostgreSQL version");
        let dir = std::env::temp_dir().join(format!("percorsi-pg-outage-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).expect("dir");
        let port = 56000 + (rand::random::<u16>() % 2000);
        let cluster = Cluster { bin, dir, port };
        let _ = Command::new("chown").arg("postgres").arg(&cluster.dir).status();
        let data = cluster.dir.join("data");
        let ok = cluster
            .as_postgres("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "percorsi", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
            .output()
            .expect("initdb");
        assert!(ok.status.success(), "initdb: {}", String::from_utf8_lossy(&ok.stderr));
        cluster.pg_ctl("start");
        cluster
    }

    fn pg_ctl(&self, action: &str) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let out = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-m", "fast", "-o", &opts, action])
            .output()
            .expect("pg_ctl");
        assert!(out.status.success(), "pg_ctl {action}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn url(&self) -> String {
        format!("postgres://percorsi@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ =
            self.as_postgres("pg_ctl").arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn postgres_down_answers_503_and_the_server_recovers_by_itself() {
    if postgres_url().is_none() {
        return; // Needs PostgreSQL's binaries; runs in the PostgreSQL run of the suite.
    }
    let cluster = Cluster::start();
    let store = Store::connect(&cluster.url()).await.expect("connect");
    store.migrate().await.expect("migrate");
    let key = percorsi_service::keyfile::bind(&store, &cluster.dir.join("secret.key"), true).await.expect("key");
    let svc = Service::new(store, key);
    svc.ensure_instruments().await.expect("instruments");
    svc.load_demo().await.expect("demo");
    let router = percorsi_web::router(svc.clone(), percorsi_web::WebConfig::default());
    let app = crate::support::Client::for_router(router);
    let anna = app.login_as("anna").await;
    assert_eq!(anna.get("/persone").await.status, StatusCode::OK);

    cluster.pg_ctl("stop");
    let r = anna.get("/persone").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("non raggiunge il suo database"), "the page says why: {}", r.body);
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    assert_eq!(app.get("/readyz").await.status, StatusCode::SERVICE_UNAVAILABLE);

    cluster.pg_ctl("start");
    let mut ready = false;
    for _ in 0..50 {
        if app.get("/readyz").await.status == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ready, "ready again once PostgreSQL is back");
    assert_eq!(anna.get("/persone").await.status, StatusCode::OK, "the same server serves again");
    svc.store().close().await;
}
