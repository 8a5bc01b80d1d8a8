//! E-mail notifications through a real SMTP server (Debian's aiosmtpd, started here) and
//! signed webhooks to a real HTTP receiver: queued with the change, never carrying who it is
//! about, kept through an outage and delivered once it ends, once per day for the digest
//! however many servers prepare it.

use crate::support::TestApp;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use percorsi_service::deliveries::{Deliverer, DeliveryConfig};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A free local port (bound and released; the server started next takes it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Debian's aiosmtpd writing every message it accepts into a Maildir.
struct SmtpServer {
    child: std::process::Child,
}

impl SmtpServer {
    async fn start(port: u16, maildir: &Path) -> SmtpServer {
        let child = std::process::Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd (apt install python3-aiosmtpd; scripts/install-deps.sh does)");
        // Dropped (killed and reaped) on every path from here.
        let server = SmtpServer { child };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not start listening on port {port}");
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn received(maildir: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(maildir.join("new")) else { return Vec::new() };
    dir.filter_map(|e| e.ok()).filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect()
}

fn deliverer(smtp_port: Option<u16>) -> Deliverer {
    let config = DeliveryConfig {
        smtp_url: smtp_port.map(|p| format!("smtp://127.0.0.1:{p}")),
        mail_from: "Percorsi <percorsi@regione.example.it>".into(),
        public_url: "https://percorsi.regione.example.it".into(),
    };
    Deliverer::new(&config, percorsi_web::mail_texts::mail_texts()).expect("deliverer")
}

fn temp_dir(tag: &str) -> PathBuf {
    let n: u64 = rand::RngExt::random(&mut rand::rng());
    let d = std::env::temp_dir().join(format!("percorsi-{tag}-{n:x}"));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[tokio::test]
async fn a_referral_e_mail_waits_out_a_mail_server_outage_and_names_no_one() {
    let app = TestApp::new().await;
    let sara = app.api_client("sara").await;
    // Validation names the field, in the caller's language.
    let r = sara
        .json("PUT", "/api/v1/account/mail-preferences", json!({"email": "sara@", "events": ["segnalazione_ricevuta"]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("\"email\""), "{}", r.body);
    let r = sara
        .json(
            "PUT",
            "/api/v1/account/mail-preferences",
            json!({"email": "sara.gallo@ilfaro.example.it", "language": "it", "events": ["segnalazione_ricevuta"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let prefs = sara.get("/api/v1/account/mail-preferences").await.json();
    assert_eq!(prefs["address"], "sara.gallo@ilfaro.example.it");

    // Anna refers two of her people to Sara's organisation: two e-mails, queued with the referrals.
    let person = app.named_person("anna").await;
    let other = app
        .svc
        .followed(&app.actor("anna").await)
        .await
        .expect("followed")
        .into_iter()
        .find(|p| p.id != person.id)
        .expect("another person");
    let (surname, code) = (person.surname.clone().expect("surname"), person.code.clone());
    let faro = app.org_id("Il Faro").await;
    let anna = app.api_client("anna").await;
    for p in [person.id, other.id] {
        let r = anna
            .json(
                "POST",
                &format!("/api/v1/persons/{p}/referrals"),
                json!({"to_organisation_id": faro.to_string(), "urgency": "urgente", "reason": "Sfratto imminente"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    assert_eq!(app.svc.outbox_backlog().await.expect("backlog"), (2, 0), "one e-mail per referral");
    // The operator sees what waits in the outbox.
    let config = percorsi_web::WebConfig { metrics_token: Some("scrape".into()), ..Default::default() };
    let mut scraper = crate::support::Client::for_router(percorsi_web::router(app.svc.clone(), config));
    scraper.bearer = Some("scrape".into());
    let metrics = scraper.get("/metrics").await.body;
    assert!(metrics.contains("percorsi_outbox{state=\"pending\"} 2"), "{metrics}");

    // The mail server is down: the first delivery fails and is rescheduled; the round stops
    // trying the server, so the second waits without an attempt counted. Nothing is lost.
    let port = free_port();
    let maildir = temp_dir("maildir").join("box");
    let now = Utc::now();
    let round = app.svc.deliver_due_at(&deliverer(Some(port)), now).await.expect("round");
    assert_eq!((round.delivered, round.retrying, round.failed, round.deferred), (0, 1, 0, 1));
    // Before the first one's retry time only the second is tried (and fails).
    let round = app.svc.deliver_due_at(&deliverer(Some(port)), now + Duration::seconds(5)).await.expect("round");
    assert_eq!((round.delivered, round.retrying, round.deferred), (0, 1, 0));

    // The server comes back; the next round after the delay delivers both, once.
    let _smtp = SmtpServer::start(port, &maildir).await;
    let later = now + Duration::minutes(2);
    let round = app.svc.deliver_due_at(&deliverer(Some(port)), later).await.expect("round");
    assert_eq!((round.delivered, round.retrying, round.failed), (2, 0, 0));
    let round = app.svc.deliver_due_at(&deliverer(Some(port)), later + Duration::hours(1)).await.expect("round");
    assert_eq!(round.delivered, 0, "a delivered mail is not sent again");
    assert_eq!(app.svc.outbox_backlog().await.expect("backlog"), (0, 0));

    let mails = received(&maildir);
    assert_eq!(mails.len(), 2, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("To: sara.gallo@ilfaro.example.it"), "{mail}");
    assert!(mail.contains("Subject: Percorsi: una nuova segnalazione da valutare"), "{mail}");
    assert!(mail.contains("https://percorsi.regione.example.it/segnalazioni"), "{mail}");
    for secret in [surname.as_str(), code.as_str(), "Sfratto", "urgente"] {
        assert!(!mail.contains(secret), "the e-mail must not carry {secret:?}: {mail}");
    }
    let _ = std::fs::remove_dir_all(maildir.parent().expect("parent"));
}

/// What the webhook receiver got: headers and body of each call.
#[derive(Default)]
struct Received {
    calls: Vec<(String, String, String)>,
}

async fn start_receiver(fail_first: usize) -> (u16, Arc<Mutex<Received>>) {
    use axum::routing::post;
    let got: Arc<Mutex<Received>> = Arc::default();
    let state = (got.clone(), Arc::new(std::sync::atomic::AtomicUsize::new(0)));
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                move |axum::extract::State((got, n)): axum::extract::State<(
                    Arc<Mutex<Received>>,
                    Arc<std::sync::atomic::AtomicUsize>,
                )>,
                      headers: axum::http::HeaderMap,
                      body: String| async move {
                    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    got.lock().expect("lock").calls.push((h("percorsi-event"), h("percorsi-signature"), body));
                    if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    (port, got)
}

#[tokio::test]
async fn a_webhook_is_signed_retried_until_acknowledged_and_logged() {
    let app = TestApp::new().await;
    let admin = app.api_client("admin").await;
    let (port, got) = start_receiver(1).await;

    // Only TLS, or plain HTTP to this machine; at least one event.
    let r = admin.json("POST", "/api/v1/webhooks", json!({"url": "http://ict.example.it/hook", "events": []})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("\"url\"") && r.body.contains("\"events\""), "{}", r.body);
    let r = admin
        .json(
            "POST",
            "/api/v1/webhooks",
            json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["accesso_emergenza"], "description": "SIEM regionale"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let hook = r.json();
    let (id, secret) = (hook["id"].as_i64().expect("id"), hook["secret"].as_str().expect("secret").to_string());
    assert_eq!(secret.len(), 64);
    let listed = admin.get("/api/v1/webhooks").await;
    assert!(!listed.body.contains(&secret), "the secret is shown once, at creation");

    // An emergency access elsewhere tells the auditors' organisation (the administrator's).
    let luca = app.actor("luca").await;
    let person = app.svc.followed(&luca).await.expect("followed").into_iter().next().expect("a person of Luca's");
    let glass = percorsi_service::glass::GlassForm {
        code: person.code.clone(),
        reason: "Ricovero in urgenza, serve la terapia".into(),
    };
    app.svc.break_glass(&app.actor("sara").await, &glass).await.expect("break the glass");

    // First call: the receiver answers 503; the delivery is kept for a retry.
    let d = deliverer(None);
    let now = Utc::now();
    let round = app.svc.deliver_due_at(&d, now).await.expect("round");
    assert_eq!((round.delivered, round.retrying), (0, 1));
    let round = app.svc.deliver_due_at(&d, now + Duration::minutes(1)).await.expect("round");
    assert_eq!((round.delivered, round.retrying), (1, 0));

    let calls = std::mem::take(&mut got.lock().expect("lock").calls);
    assert_eq!(calls.len(), 2, "tried twice");
    for (event, signature, body) in &calls {
        assert_eq!(event, "emergency_access.opened");
        assert!(
            percorsi_domain::notification::verify_signature(
                &secret,
                signature,
                body.as_bytes(),
                Utc::now(),
                Duration::minutes(5)
            ),
            "signature {signature} verifies with the webhook's secret"
        );
        assert!(!percorsi_domain::notification::verify_signature(
            "another secret",
            signature,
            body.as_bytes(),
            Utc::now(),
            Duration::minutes(5)
        ));
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(v["event"], "emergency_access.opened");
        assert_eq!(v["link"], "https://percorsi.regione.example.it/notifiche");
        assert!(!body.contains(&person.code) && !body.contains("Ricovero"), "no person data: {body}");
    }
    assert_eq!(calls[0].2, calls[1].2, "a retry sends the same delivery (same id)");

    // The delivery log shows both attempts and the final status.
    let view = admin.get(&format!("/api/v1/webhooks/{id}")).await;
    let view = view.json();
    let log = view["deliveries"].as_array().unwrap_or_else(|| panic!("log: {view}"));
    assert_eq!(log.len(), 1, "{view}");
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["last_status"], 204);
    assert!(log[0]["delivered_at"].is_string());
    let page = app.login("admin").await.get(&format!("/admin/webhook/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("HTTP 204"), "{}", page.body);

    // Deactivated, it receives nothing more.
    let r = admin.json("POST", &format!("/api/v1/webhooks/{id}/deactivation"), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.svc.break_glass(&app.actor("sara").await, &glass).await.expect("again");
    let round = app.svc.deliver_due_at(&d, Utc::now()).await.expect("round");
    assert_eq!(round.delivered + round.retrying, 0);
    assert!(got.lock().expect("lock").calls.is_empty());
}

#[tokio::test]
async fn the_daily_digest_is_queued_once_a_day_even_by_two_servers() {
    let app = TestApp::new().await;
    let second = app.second_server().await;
    let anna = app.api_client("anna").await;
    let r = anna
        .json(
            "PUT",
            "/api/v1/account/mail-preferences",
            json!({"email": "anna@serd1.example.it", "language": "en", "events": ["riepilogo_giornaliero"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let before = app.svc.outbox_backlog().await.expect("backlog").0;
    let (a, b) = tokio::join!(app.svc.prepare_digests(), second.svc.prepare_digests());
    assert_eq!(a.expect("first server") + b.expect("second server"), 1, "one digest between the two servers");
    assert_eq!(app.svc.outbox_backlog().await.expect("backlog").0, before + 1);
    // Later the same day: nothing more.
    assert_eq!(app.svc.prepare_digests().await.expect("again"), 0);

    // Delivered through a real mail server, in the user's language, with counts only.
    let port = free_port();
    let maildir = temp_dir("digest").join("box");
    let _smtp = SmtpServer::start(port, &maildir).await;
    let round = app.svc.deliver_due(&deliverer(Some(port))).await.expect("round");
    assert_eq!(round.delivered, 1);
    let mails = received(&maildir);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Subject: Percorsi: what is due today"), "{}", mails[0]);
    assert!(mails[0].contains("- "), "at least one count line: {}", mails[0]);
    let _ = std::fs::remove_dir_all(maildir.parent().expect("parent"));

    // The page shows the settings and says so when no mail server is configured.
    let page = app.login("anna").await.get("/account/notifiche").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("anna@serd1.example.it") && page.body.contains("id=\"f-email\""), "{}", page.body);
    assert!(page.body.contains("non è configurato un server di posta"), "{}", page.body);
}
