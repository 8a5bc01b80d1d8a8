//! E-mail notifications and webhooks (ADR 0018). What to deliver is decided where the change
//! happens — every in-app notification that maps to an [`Event`] is put in the outbox by the
//! store, in the same transaction — and delivered here, by whichever app server claims it,
//! with retries until the mail server or the receiver acknowledges it.

use crate::audit::{record, ts};
use crate::auth::actor_from;
use crate::policy::{self, allows, Permission};
use crate::{today, Actor, Result, Service, ServiceError};
use chrono::{DateTime, Duration, Utc};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percorsi_domain::notification::{
    retry_delay, signature, Event, MailLanguage, MailPreferencesForm, WebhookForm, MAX_ATTEMPTS,
};
use percorsi_store::{Delivery, DeliveryLogRow, MailPreferencesRow, WebhookRow};
use rand::RngExt;
use serde::Serialize;

/// How long a server holds the deliveries it claimed before another may take them over.
const LEASE_SECONDS: i64 = 120;
/// Deliveries claimed per round.
const BATCH: i64 = 50;
/// A mail server or receiver that does not answer in this time counts as down.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The words of an e-mail, in the recipient's language (the web layer's translations).
pub trait MailTexts: Send + Sync {
    /// Subject and plain-text body for `event`; `counts` are the digest's figures (empty for
    /// other events); links are made under `public_url` (no trailing slash).
    fn mail(&self, event: Event, language: MailLanguage, counts: &DigestCounts, public_url: &str) -> (String, String);
}

/// How Percorsi reaches the outside: the mail server, the sender address, the address users
/// open links at. Without a mail server, e-mails wait in the outbox (webhooks still go).
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// `smtp://host:port` (plain, a relay on the machine or the LAN), `smtp://host?tls=required`
    /// (STARTTLS) or `smtps://host` (TLS); user and password as `smtp://user:pass@host`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// `https://percorsi.regione.example.it`: links in e-mails and webhook payloads.
    pub public_url: String,
}

/// The sending side, built once per server.
pub struct Deliverer {
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: lettre::message::Mailbox,
    http: reqwest::Client,
    public_url: String,
    texts: std::sync::Arc<dyn MailTexts>,
}

impl Deliverer {
    pub fn new(config: &DeliveryConfig, texts: std::sync::Arc<dyn MailTexts>) -> std::result::Result<Self, String> {
        let mailer = match config.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("mail server address {url:?}: {e}"))?
                    .timeout(Some(SEND_TIMEOUT))
                    .build(),
            ),
            None => None,
        };
        let from = config.mail_from.parse().map_err(|e| format!("sender address {:?}: {e}", config.mail_from))?;
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Percorsi/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Deliverer { mailer, from, http, public_url: config.public_url.trim_end_matches('/').to_string(), texts })
    }

    /// Whether e-mails can leave (the account page says so when they cannot).
    pub fn mail_enabled(&self) -> bool {
        self.mailer.is_some()
    }

    async fn send(&self, d: &Delivery) -> std::result::Result<Option<i64>, Failure> {
        match d.channel.as_str() {
            "email" => self.send_mail(d).await.map(|()| None),
            _ => self.send_webhook(d).await.map(Some).map_err(|(status, error)| Failure { status, error, down: true }),
        }
    }

    async fn send_mail(&self, d: &Delivery) -> std::result::Result<(), Failure> {
        let refused = |error: String| Failure { status: None, error, down: false };
        let mailer = self.mailer.as_ref().ok_or_else(|| Failure {
            status: None,
            error: "no mail server configured".into(),
            down: true,
        })?;
        let address = d.address.as_deref().ok_or_else(|| refused("the user no longer wants e-mails".into()))?;
        let counts: DigestCounts = serde_json::from_str(&d.payload).unwrap_or_default();
        let (subject, body) =
            self.texts.mail(d.event, d.language.unwrap_or(MailLanguage::It), &counts, &self.public_url);
        let to = address.parse().map_err(|e| refused(format!("address {address:?}: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| refused(e.to_string()))?;
        // A refusal of this one message (a permanent SMTP answer) says nothing about the others;
        // anything else (no connection, a timeout, a busy server) means the server is down.
        mailer.send(message).await.map(|_| ()).map_err(|e| Failure {
            status: None,
            down: !e.is_permanent(),
            error: e.to_string(),
        })
    }

    async fn send_webhook(&self, d: &Delivery) -> std::result::Result<i64, (Option<i64>, String)> {
        let url = d.url.as_deref().ok_or((None, "webhook removed".to_string()))?;
        let secret = d.secret.as_deref().unwrap_or_default();
        let body = webhook_body(d, &self.public_url);
        let sent_at = Utc::now();
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Percorsi-Event", d.event.webhook_name())
            .header("Percorsi-Delivery", d.id.to_string())
            .header("Percorsi-Signature", signature(secret, sent_at, body.as_bytes()))
            .body(body)
            .send()
            .await
            .map_err(|e| (None, e.to_string()))?;
        let status = i64::from(response.status().as_u16());
        if response.status().is_success() {
            Ok(status)
        } else {
            Err((Some(status), format!("HTTP {status}")))
        }
    }
}

/// Why a delivery failed, and whether its destination looks down (then the round stops
/// trying it: the other deliveries to it wait for the next round without counting an attempt).
struct Failure {
    status: Option<i64>,
    error: String,
    down: bool,
}

/// The JSON a receiver gets: the event, when, for which organisation, where to look; the
/// delivery id makes a retried delivery recognisable (receivers should ignore repeats).
fn webhook_body(d: &Delivery, public_url: &str) -> String {
    let stored: serde_json::Value = serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "id": d.id,
        "event": d.event.webhook_name(),
        "occurred_at": stored.get("occurred_at").cloned().unwrap_or_else(|| serde_json::Value::String(d.created_at.clone())),
        "organisation_id": d.organisation_id,
        "link": format!("{public_url}{}", d.event.link()),
    })
    .to_string()
}

/// The figures of a daily digest, summed over the user's organisations and roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DigestCounts {
    pub referrals: i64,
    pub transfers: i64,
    pub reviews: i64,
    pub commitments: i64,
    pub interventions: i64,
}

impl DigestCounts {
    fn is_empty(&self) -> bool {
        *self == DigestCounts::default()
    }
}

/// What one round of delivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryRound {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Not tried because their destination failed earlier in the round.
    pub deferred: usize,
}

/// A new webhook, with the secret shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    pub id: i64,
    /// Signs every delivery (`Percorsi-Signature`); shown only now — keep it in the receiver.
    pub secret: String,
}

impl Service {
    pub async fn mail_preferences(&self, actor: &Actor) -> Result<Option<MailPreferencesRow>> {
        let mut tx = self.store().read().await?;
        let p = tx.mail_preferences(actor.user_id).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// The user's own e-mail settings (any role: everyone may be told where to look).
    pub async fn set_mail_preferences(&self, actor: &Actor, form: &MailPreferencesForm) -> Result<()> {
        let p = form.validate()?;
        let mut tx = self.store().write().await?;
        tx.set_mail_preferences(actor.user_id, p.as_ref()).await?;
        let detail = p.as_ref().map_or_else(
            || "e-mail disattivate".to_string(),
            |p| format!("eventi: {}", p.events.iter().map(|e| e.code()).collect::<Vec<_>>().join(", ")),
        );
        record(&mut tx, actor, "update", "mail_preferences", Some(actor.user_id), "notifiche e-mail", Some(detail))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn webhooks(&self, actor: &Actor) -> Result<Vec<WebhookRow>> {
        policy::require(actor, Permission::ManageWebhooks)?;
        let mut tx = self.store().read().await?;
        let list = tx.webhooks(actor.organisation_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// A webhook of the actor's organisation and its latest deliveries.
    pub async fn webhook(&self, actor: &Actor, id: i64) -> Result<(WebhookRow, Vec<DeliveryLogRow>)> {
        policy::require(actor, Permission::ManageWebhooks)?;
        let mut tx = self.store().read().await?;
        let w = tx.webhook(actor.organisation_id, id).await?.ok_or(ServiceError::NotFound)?;
        let log = tx.webhook_log(id, 100).await?;
        tx.commit().await?;
        Ok((w, log))
    }

    pub async fn add_webhook(&self, actor: &Actor, form: &WebhookForm) -> Result<WebhookCreated> {
        policy::require(actor, Permission::ManageWebhooks)?;
        let w = form.validate()?;
        let secret = hex::encode(rand::rng().random::<[u8; 32]>());
        let mut tx = self.store().write().await?;
        let id = tx.insert_webhook(actor.organisation_id, &w, &secret, actor.user_id).await?;
        record(&mut tx, actor, "create", "webhook", Some(id), "webhook", Some(w.url.clone())).await?;
        tx.commit().await?;
        Ok(WebhookCreated { id, secret })
    }

    pub async fn deactivate_webhook(&self, actor: &Actor, id: i64) -> Result<()> {
        policy::require(actor, Permission::ManageWebhooks)?;
        let mut tx = self.store().write().await?;
        tx.deactivate_webhook(actor.organisation_id, id).await.map_err(|e| match e {
            percorsi_store::StoreError::NotFound => ServiceError::NotFound,
            other => other.into(),
        })?;
        record(&mut tx, actor, "update", "webhook", Some(id), "webhook disattivato", None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Prepares today's digest for every user who asked for it and has not had it. Safe on
    /// several servers at once: the day is marked in the transaction that queues the mail.
    pub async fn prepare_digests(&self) -> Result<usize> {
        let day = today().to_string();
        let mut tx = self.store().read().await?;
        let recipients = tx.digest_recipients(&day).await?;
        tx.commit().await?;
        let mut queued = 0;
        for r in recipients {
            let counts = self.digest_counts(r.user_id).await?;
            let payload = (!counts.is_empty())
                .then(|| serde_json::to_string(&counts))
                .transpose()
                .map_err(|e| ServiceError::Broken(format!("digest: {e}")))?;
            let mut tx = self.store().write().await?;
            let done = tx.enqueue_digest(r.user_id, r.organisation_ids[0], &day, payload.as_deref()).await?;
            tx.commit().await?;
            queued += usize::from(done);
        }
        Ok(queued)
    }

    /// What waits for a user across their memberships: referrals and transfers to decide,
    /// project reviews and commitments due, interventions that need something — counted with
    /// the same rules as their home page and agenda, for the roles that act on them.
    async fn digest_counts(&self, user_id: i64) -> Result<DigestCounts> {
        let mut tx = self.store().read().await?;
        let memberships = tx.memberships_of_user(user_id).await?;
        tx.commit().await?;
        let mut c = DigestCounts::default();
        for actor in memberships.iter().filter(|m| m.active).filter_map(actor_from) {
            let home = self.role_home(&actor).await?;
            c.referrals += home.referrals_waiting.unwrap_or(0);
            c.transfers += home.transfers_waiting.unwrap_or(0);
            if allows(actor.role, Permission::ManageProjects) {
                for item in self.agenda_items(&actor).await? {
                    match item.kind {
                        crate::projects::AgendaKind::CommitmentOverdue => c.commitments += 1,
                        _ => c.reviews += 1,
                    }
                }
            }
            if allows(actor.role, Permission::ManageInterventions) {
                c.interventions += self.due_count(&actor).await?;
            }
        }
        Ok(c)
    }

    /// Claims what is due and delivers it; the serve loop calls this every few seconds.
    pub async fn deliver_due(&self, deliverer: &Deliverer) -> Result<DeliveryRound> {
        self.deliver_due_at(deliverer, Utc::now()).await
    }

    /// [`Self::deliver_due`] as if it were `now` (tests move the clock past a retry delay).
    pub async fn deliver_due_at(&self, deliverer: &Deliverer, now: DateTime<Utc>) -> Result<DeliveryRound> {
        let mut tx = self.store().write().await?;
        let claimed = tx.claim_deliveries(&ts(now), &ts(now + Duration::seconds(LEASE_SECONDS)), BATCH).await?;
        tx.commit().await?;
        let mut round = DeliveryRound::default();
        let mut down: Vec<String> = Vec::new();
        let mut deferred = Vec::new();
        for d in claimed {
            let destination = d.url.clone().unwrap_or_else(|| d.channel.clone());
            if down.contains(&destination) {
                deferred.push(d.id);
                continue;
            }
            let outcome = deliverer.send(&d).await;
            let at = ts(Utc::now().max(now));
            let mut tx = self.store().write().await?;
            match outcome {
                Ok(status) => {
                    tx.record_attempt(d.id, &at, true, status, None, None).await?;
                    round.delivered += 1;
                }
                Err(Failure { status, error, down: is_down }) => {
                    if is_down {
                        down.push(destination);
                    }
                    let attempts = d.attempts + 1;
                    let retry = (attempts < MAX_ATTEMPTS).then(|| ts(now + retry_delay(attempts)));
                    tracing::warn!(delivery = d.id, channel = %d.channel, attempts, %error, "delivery failed");
                    tx.record_attempt(d.id, &at, false, status, Some(&truncate(&error, 500)), retry.as_deref()).await?;
                    if retry.is_some() {
                        round.retrying += 1;
                    } else {
                        round.failed += 1;
                    }
                }
            }
            tx.commit().await?;
        }
        if !deferred.is_empty() {
            let mut tx = self.store().write().await?;
            tx.release_deliveries(&deferred).await?;
            tx.commit().await?;
            round.deferred = deferred.len();
        }
        Ok(round)
    }

    /// Deliveries waiting and given up, installation-wide (metrics and operations).
    pub async fn outbox_backlog(&self) -> Result<(i64, i64)> {
        let mut tx = self.store().read().await?;
        let b = tx.outbox_backlog().await?;
        tx.commit().await?;
        Ok(b)
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
