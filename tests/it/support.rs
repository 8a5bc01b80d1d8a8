//! Test harness: a real database (SQLite file, or PostgreSQL when PERCORSI_TEST_DATABASE_URL
//! is set), the demo network, and the full HTTP router driven request by request.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use percorsi_service::auth::actor_from;
use percorsi_service::{Actor, Service, Store};
use rand::RngExt;
use tower::ServiceExt;

pub struct TestApp {
    pub svc: Service,
    pub router: Router,
    /// The database URL, for tests that run the `percorsi` binary against the same data.
    pub db_url: String,
    /// The installation key file bound to this database (what `--secret-file` must name).
    pub key_file: std::path::PathBuf,
    _dir: Option<TempDir>,
    _key_dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which engine this run tests; the same suite runs on both.
pub fn postgres_url() -> Option<String> {
    std::env::var("PERCORSI_TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))
}

pub async fn fresh_store() -> (Store, String, Option<TempDir>) {
    let n: u64 = rand::rng().random();
    match postgres_url() {
        Some(admin_url) => {
            // One database per test keeps tests independent and parallel.
            let admin = Store::connect(&admin_url).await.expect("connect to PostgreSQL");
            let name = format!("percorsi_t{n:x}");
            sqlx_exec(&admin, &format!("CREATE DATABASE {name}")).await;
            admin.close().await;
            let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_string()).expect("database URL has a path");
            let (url, query) = match admin_url.split_once('?') {
                Some((_, q)) => (format!("{base}/{name}"), format!("?{q}")),
                None => (format!("{base}/{name}"), String::new()),
            };
            let url = format!("{url}{query}");
            let store = Store::connect(&url).await.expect("connect to test database");
            store.migrate().await.expect("migrate");
            (store, url, None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!("percorsi-test-{n:x}"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let url = format!("sqlite://{}/t.db?mode=rwc", dir.display());
            let store = Store::connect(&url).await.expect("open SQLite");
            store.migrate().await.expect("migrate");
            (store, url, Some(TempDir(dir)))
        }
    }
}

/// The API body registering the `n`-th of a series of new people (the birth date, and so the
/// pseudonymous code, differs for each), in care with the case manager `cm`.
pub fn nth_registration(cm: i64, surname: &str, n: usize) -> serde_json::Value {
    let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("date") + chrono::Duration::days(n as i64);
    serde_json::json!({
        "person": {"surname": surname, "name": "Serie", "birth_date": birth.format("%Y-%m-%d").to_string(), "sex": "F"},
        "episode": {"start_date": "2026-02-10", "case_manager_id": cm.to_string()}
    })
}

/// The `percorsi` command on a given database and key file.
pub fn percorsi_cli(db_url: &str, key_file: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_percorsi"));
    c.arg("--database-url").arg(db_url).arg("--secret-file").arg(key_file);
    c.arg("--documents-dir").arg(documents_dir(key_file));
    c
}

/// Where a test installation keeps signed documents' files: beside its key, so that the app
/// servers and the command line of one test share them and nothing else does.
pub fn documents_dir(key_file: &std::path::Path) -> std::path::PathBuf {
    key_file.parent().unwrap_or(std::path::Path::new(".")).join("documents")
}

fn with_documents(svc: Service, key_file: &std::path::Path) -> Service {
    let files = percorsi_service::documents::DirectoryFiles::new(documents_dir(key_file));
    svc.with_documents(std::sync::Arc::new(files))
}

/// Raw SQL, for the few tests that must act like an attacker with database access.
pub async fn sqlx_exec(store: &Store, sql: &str) {
    percorsi_service::store::raw_execute(store, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

impl TestApp {
    pub async fn new() -> TestApp {
        let (store, db_url, dir) = fresh_store().await;
        let expected = if postgres_url().is_some() {
            percorsi_service::Backend::Postgres
        } else {
            percorsi_service::Backend::Sqlite
        };
        assert_eq!(store.backend(), expected, "the suite runs on the engine it was asked for");
        let n: u64 = rand::rng().random();
        let key_dir = TempDir(std::env::temp_dir().join(format!("percorsi-key-{n:x}")));
        let key_file = key_dir.0.join("secret.key");
        let key = percorsi_service::keyfile::bind(&store, &key_file, true).await.expect("installation key");
        // Second factors are proved in tests/it/second_factor.rs; elsewhere the demo's
        // administrators, auditors and analysts sign in with their password alone.
        let svc = with_documents(Service::new(store, key), &key_file).with_mfa_roles(Vec::new());
        svc.ensure_instruments().await.expect("shipped instruments load");
        assert!(svc.load_demo().await.expect("demo loads"));
        let router = percorsi_web::router(svc.clone(), percorsi_web::WebConfig::default());
        TestApp { svc, router, db_url, key_file, _dir: dir, _key_dir: Some(key_dir) }
    }

    /// The actor a demo user acts as (their first role, or the one in `org_name`).
    /// A second app server on the same database and key, as behind a load balancer: its own
    /// store (pools, writer, audit committer) and router.
    pub async fn second_server(&self) -> TestApp {
        self.server_with(&self.db_url, percorsi_service::store::StoreOptions::default()).await
    }

    /// Another app server on this installation's key, with its own database URL and options.
    pub async fn server_with(&self, db_url: &str, opts: percorsi_service::store::StoreOptions) -> TestApp {
        let store = Store::connect_with(db_url, opts).await.expect("second server connects");
        let key = percorsi_service::keyfile::bind(&store, &self.key_file, false).await.expect("same key");
        let svc =
            with_documents(Service::new(store, key), &self.key_file).with_mfa_roles(self.svc.mfa_roles().to_vec());
        let router = percorsi_web::router(svc.clone(), percorsi_web::WebConfig::default());
        TestApp {
            svc,
            router,
            db_url: self.db_url.clone(),
            key_file: self.key_file.clone(),
            _dir: None,
            _key_dir: None,
        }
    }

    /// The same installation served with another set of roles that must use a second factor
    /// (the installation's default is administrators, auditors and analysts).
    pub fn with_mfa_roles(mut self, roles: Vec<percorsi_domain::codes::Role>) -> TestApp {
        self.svc = self.svc.clone().with_mfa_roles(roles);
        self.router = percorsi_web::router(self.svc.clone(), percorsi_web::WebConfig::default());
        self
    }

    /// The same installation signing people in through an OpenID Connect provider too.
    pub fn with_sso(mut self, settings: percorsi_service::sso::SsoSettings) -> TestApp {
        self.svc = self.svc.clone().with_sso(settings).expect("single sign-on settings");
        self.router = percorsi_web::router(self.svc.clone(), percorsi_web::WebConfig::default());
        self
    }

    /// The `percorsi` command on this installation's database and key.
    pub fn cli(&self) -> std::process::Command {
        percorsi_cli(&self.db_url, &self.key_file)
    }

    pub async fn actor(&self, username: &str) -> Actor {
        let m = self.svc.cli_membership(username, None, None).await.expect("demo user exists");
        actor_from(&m).expect("valid role")
    }

    /// A person `user`'s organisation follows whose name it may see (the demo has several).
    pub async fn named_person(&self, user: &str) -> percorsi_service::store::PersonSummary {
        let actor = self.actor(user).await;
        self.svc
            .followed(&actor)
            .await
            .expect("followed")
            .into_iter()
            .find(|p| p.surname.is_some())
            .expect("a person with a name")
    }

    pub async fn org_id(&self, name_part: &str) -> i64 {
        self.svc
            .organisations()
            .await
            .expect("orgs")
            .into_iter()
            .find(|o| o.name.contains(name_part))
            .map(|o| o.id)
            .expect("demo organisation")
    }

    pub fn client(&self) -> Client {
        Client { router: self.router.clone(), cookie: None, csrf: None, lang: None, bearer: None }
    }

    /// A signed-in browser-like client.
    pub async fn login(&self, username: &str) -> Client {
        self.client().login_as(username).await
    }

    pub async fn api_client(&self, username: &str) -> Client {
        let m = self.svc.cli_membership(username, None, None).await.expect("demo user");
        let token = self.svc.create_api_token(m.id, "test", 1).await.expect("token");
        let mut c = self.client();
        c.bearer = Some(token);
        c
    }
}

#[derive(Clone)]
pub struct Client {
    router: Router,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub lang: Option<&'static str>,
    pub bearer: Option<String>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    pub fn location(&self) -> String {
        self.header("location").unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Client {
    /// A client of any router (an app server built by the test itself).
    pub fn for_router(router: Router) -> Client {
        Client { router, cookie: None, csrf: None, lang: None, bearer: None }
    }

    /// Signs in with the demo password, as a browser would.
    pub async fn login_as(&self, username: &str) -> Client {
        self.login_with(username, percorsi_service::demo::DEMO_PASSWORD).await
    }

    /// Signs in with a given password, as a browser would.
    pub async fn login_with(&self, username: &str, password: &str) -> Client {
        let mut c = Client::for_router(self.router.clone());
        let r = c.post_raw("/login", &[("username", username), ("password", password)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login of {username}: {}", r.body);
        let set = r.header("set-cookie").expect("session cookie");
        c.cookie = Some(set.split(';').next().unwrap_or_default().to_string());
        c.refresh_csrf().await;
        c
    }

    async fn send(&self, req: axum::http::request::Builder, body: Body) -> Resp {
        let mut req = req;
        if let Some(c) = &self.cookie {
            let mut cookie = c.clone();
            if let Some(l) = self.lang {
                cookie.push_str(&format!("; percorsi_lang={l}"));
            }
            req = req.header(header::COOKIE, cookie);
        } else if let (Some(l), None) = (self.lang, &self.bearer) {
            req = req.header(header::COOKIE, format!("percorsi_lang={l}"));
        }
        if let Some(b) = &self.bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
            if let Some(l) = self.lang {
                req = req.header(header::ACCEPT_LANGUAGE, l);
            }
        }
        let res = self.router.clone().oneshot(req.body(body).expect("request")).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Request::get(path), Body::empty()).await
    }

    /// A form post carrying the session's CSRF token, as the pages do.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        if let Some(t) = &self.csrf {
            fields.push(("_csrf", t));
        }
        self.post_raw(path, &fields).await
    }

    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(form).expect("encode");
        self.send(
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(body),
        )
        .await
    }

    pub async fn json(&self, method: &str, path: &str, body: serde_json::Value) -> Resp {
        let req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
        self.send(req, Body::from(body.to_string())).await
    }

    /// A JSON request with a body exactly as given (for malformed-input tests).
    pub async fn send_raw_json(&self, path: &str, body: &str) -> Resp {
        self.send(Request::post(path).header(header::CONTENT_TYPE, "application/json"), Body::from(body.to_string()))
            .await
    }

    /// A request with a body as given (CSV uploads, multipart forms).
    pub async fn raw(&self, method: &str, path: &str, content_type: &str, body: &str) -> Resp {
        self.raw_with(method, path, content_type, body, &[]).await
    }

    pub async fn raw_with(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, content_type);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, Body::from(body.to_string())).await
    }

    pub async fn refresh_csrf(&mut self) {
        let page = self.get("/ruolo").await;
        self.csrf = extract(&page.body, "name=\"_csrf\" value=\"", "\"");
    }
}

pub fn extract(haystack: &str, start: &str, end: &str) -> Option<String> {
    let i = haystack.find(start)? + start.len();
    let j = haystack[i..].find(end)? + i;
    Some(haystack[i..j].to_string())
}

/// The id at the end of a redirect such as `/persone/12?msg=registered`.
pub fn id_from_location(loc: &str) -> i64 {
    loc.split('?')
        .next()
        .and_then(|p| p.rsplit('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id in {loc}"))
}

/// Runs one of `tests/validators`' schema checks (`fhir.js`, `hsds.js`) with Node.js over
/// `items`; panics with its report when any is invalid.
pub fn assert_valid(script: &str, items: &[serde_json::Value]) {
    let root = env!("CARGO_MANIFEST_DIR");
    let n: u64 = rand::rng().random();
    let file = std::env::temp_dir().join(format!("percorsi-validate-{n:x}.json"));
    std::fs::write(&file, serde_json::to_string(items).expect("JSON")).expect("write the items");
    let out = std::process::Command::new("node")
        .arg(format!("{root}/tests/validators/{script}"))
        .arg(&file)
        .output()
        .expect("node runs the validator (scripts/install-deps.sh installs it)");
    let _ = std::fs::remove_file(&file);
    let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}: invalid against the schema:\n{report}");
    assert_eq!(report.trim(), format!("ok {}", items.len()));
}
