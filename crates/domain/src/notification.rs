//! Notifications that leave Percorsi: e-mails to the people who work in it and signed webhook
//! calls to the systems around it. Both say *what* happened and *where* to look, never who it
//! concerns: no name, no pseudonymous code, no health data (ADR 0018).

use crate::codes::Role;
use crate::validation::{Checker, FieldError, Invalid};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

code_enum!(
    /// What happened, as e-mail preferences and webhook subscriptions name it
    /// (`riepilogo_giornaliero`: once a day, referrals and transfers waiting, reviews and
    /// commitments due).
    Event {
        ReferralReceived => "segnalazione_ricevuta",
        ReferralDecided => "segnalazione_decisa",
        TransferReceived => "trasferimento_ricevuto",
        TransferDecided => "trasferimento_deciso",
        GlassUsed => "accesso_emergenza",
        ConsentRevoked => "consenso_revocato",
        Digest => "riepilogo_giornaliero",
    }
);

impl Event {
    /// The event behind an in-app notification's message key, when it is one that leaves.
    pub fn of_notification(message: &str) -> Option<Event> {
        Some(match message {
            "notif-referral-received" => Event::ReferralReceived,
            "notif-referral-accepted" | "notif-referral-declined" => Event::ReferralDecided,
            "notif-transfer-received" => Event::TransferReceived,
            "notif-transfer-accepted" | "notif-transfer-declined" => Event::TransferDecided,
            "notif-glass" | "notif-glass-review" => Event::GlassUsed,
            "notif-consent-revoked" => Event::ConsentRevoked,
            _ => return None,
        })
    }

    /// The events a webhook may subscribe to (the digest is for people, not systems).
    pub fn for_webhooks() -> impl Iterator<Item = Event> {
        Event::ALL.iter().copied().filter(|e| *e != Event::Digest)
    }

    /// Where the message sends its reader: a list page, never a person's page (the link would
    /// carry the person's record number).
    pub fn link(self) -> &'static str {
        match self {
            Event::ReferralReceived | Event::TransferReceived | Event::Digest => "/segnalazioni",
            Event::GlassUsed | Event::ReferralDecided | Event::TransferDecided | Event::ConsentRevoked => "/notifiche",
        }
    }

    /// The dotted name webhook receivers route on (`referral.received`).
    pub fn webhook_name(self) -> &'static str {
        match self {
            Event::ReferralReceived => "referral.received",
            Event::ReferralDecided => "referral.decided",
            Event::TransferReceived => "transfer.received",
            Event::TransferDecided => "transfer.decided",
            Event::GlassUsed => "emergency_access.opened",
            Event::ConsentRevoked => "consent.revoked",
            Event::Digest => "digest",
        }
    }
}

/// Who is told by e-mail of an organisation's events: the roles that read its in-app
/// notifications (the policy's `ReadNotifications`, checked equal by a test there).
pub const RECIPIENT_ROLES: [Role; 4] = [Role::CaseManager, Role::Operatore, Role::Coordinatore, Role::Auditor];

/// A comma-separated list of event codes as stored; unknown codes are dropped.
pub fn parse_events(stored: &str) -> Vec<Event> {
    stored.split(',').filter_map(|c| Event::parse(c.trim())).collect()
}

pub fn events_text(events: &[Event]) -> String {
    events.iter().map(|e| e.code()).collect::<Vec<_>>().join(",")
}

code_enum!(
    /// The language of a user's e-mails.
    MailLanguage {
        It => "it",
        En => "en",
    }
);

/// The longest address or URL kept.
const MAX_ADDRESS: usize = 254;
const MAX_URL: usize = 500;

/// A user's e-mail settings. An empty address turns e-mail off.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MailPreferencesForm {
    /// The e-mail address; blank turns e-mail off.
    pub email: String,
    /// `it` or `en`.
    pub language: String,
    /// Event codes (`segnalazione_ricevuta`, …, `riepilogo_giornaliero`).
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPreferences {
    pub address: String,
    pub language: MailLanguage,
    pub events: Vec<Event>,
}

impl MailPreferencesForm {
    /// `None` when the address is blank: the user wants no e-mail.
    pub fn validate(&self) -> Result<Option<MailPreferences>, Invalid> {
        let mut c = Checker::new();
        let address = self.email.trim();
        if address.chars().count() > MAX_ADDRESS {
            c.push(FieldError::new("email", "err-too-long").arg("max", MAX_ADDRESS.to_string()));
        } else if !address.is_empty() && !plausible_address(address) {
            c.fail("email", "err-email");
        }
        let language = if self.language.trim().is_empty() {
            Some(MailLanguage::It)
        } else {
            c.required_code("language", &self.language, MailLanguage::parse)
        };
        let events = events_of(&mut c, "events", &self.events, false);
        c.finish(|| ())?;
        if address.is_empty() {
            return Ok(None);
        }
        Ok(Some(MailPreferences {
            address: address.to_string(),
            language: language.unwrap_or(MailLanguage::It),
            events,
        }))
    }
}

/// One `@`, something on each side, a dot in the domain and no spaces or angle brackets: the
/// mail server is the judge of the rest, and a bounce shows in the delivery log.
fn plausible_address(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !a.chars().any(|ch| ch.is_whitespace() || ch.is_control() || matches!(ch, '<' | '>' | ',' | ';'))
}

fn events_of(c: &mut Checker, field: &'static str, raw: &[String], webhook: bool) -> Vec<Event> {
    let mut events = Vec::new();
    for code in raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match Event::parse(code) {
            Some(Event::Digest) if webhook => c.push(FieldError::new(field, "err-unknown-code").arg("value", code)),
            Some(e) if !events.contains(&e) => events.push(e),
            Some(_) => {}
            None => c.push(FieldError::new(field, "err-unknown-code").arg("value", code)),
        }
    }
    events.sort_unstable();
    events
}

/// An organisation's endpoint for signed event deliveries.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WebhookForm {
    /// `https://…` (plain `http://` only to this machine, for a local relay).
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<Event>,
    pub description: String,
}

impl WebhookForm {
    pub fn validate(&self) -> Result<NewWebhook, Invalid> {
        let mut c = Checker::new();
        let url = c.required_text("url", &self.url, MAX_URL);
        if !url.is_empty() && !acceptable_url(&url) {
            c.fail("url", "err-webhook-url");
        }
        let events = events_of(&mut c, "events", &self.events, true);
        if events.is_empty() {
            c.fail("events", "err-required");
        }
        let description = c.optional_text("description", Some(&self.description), 200).unwrap_or_default();
        c.finish(|| ())?;
        Ok(NewWebhook { url, events, description })
    }
}

/// Deliveries carry no personal data, but the receiver trusts them: TLS on the network, plain
/// HTTP only to a relay on the same machine.
fn acceptable_url(url: &str) -> bool {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return false;
        }
        r
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/') && !rest.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}

/// How many times a delivery is tried before it is marked failed (about three days of retries).
pub const MAX_ATTEMPTS: i64 = 16;

/// When to try again after `attempts` failed tries: 30 s, 1 min, 2 min, … doubling up to 6 hours.
pub fn retry_delay(attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 20) - 1;
    let secs = 30i64.saturating_mul(1i64 << exp.min(10));
    Duration::seconds(secs.min(6 * 3600))
}

/// The `Percorsi-Signature` header of a webhook delivery: `t=<unix seconds>,v1=<hex>` where
/// the hex is HMAC-SHA256 with the webhook's secret over `<t>.<body>` — the receiver recomputes
/// it and refuses old timestamps, so a captured delivery cannot be replayed later.
pub fn signature(secret: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    let t = at.timestamp();
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// What a receiver does with the header: true when it was made with `secret` over `body`
/// within `tolerance` of `now`.
pub fn verify_signature(secret: &str, header: &str, body: &[u8], now: DateTime<Utc>, tolerance: Duration) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(given)) = (t, v1) else { return false };
    if (now.timestamp() - t).abs() > tolerance.num_seconds() {
        return false;
    }
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_need_a_plausible_address_and_known_events() {
        let ok = MailPreferencesForm {
            email: " op@serd.example.it ".into(),
            language: "en".into(),
            events: vec![
                "segnalazione_ricevuta".into(),
                "riepilogo_giornaliero".into(),
                "segnalazione_ricevuta".into(),
            ],
        };
        let p = ok.validate().expect("valid").expect("an address");
        assert_eq!(p.address, "op@serd.example.it");
        assert_eq!(p.language, MailLanguage::En);
        assert_eq!(p.events, vec![Event::ReferralReceived, Event::Digest]);
        let off = MailPreferencesForm { email: "  ".into(), ..ok.clone() };
        assert_eq!(off.validate().expect("valid"), None);
        for bad in ["op", "op@", "@serd.it", "op@serd", "op @serd.it", "a@b.it, c@d.it", "<op@serd.it>"] {
            let e = MailPreferencesForm { email: bad.into(), ..ok.clone() }.validate().expect_err(bad);
            assert!(e.has("email"), "{bad}: {e:?}");
        }
        let e = MailPreferencesForm { events: vec!["tutto".into()], language: "fr".into(), ..ok }
            .validate()
            .expect_err("unknown");
        assert!(e.has("events") && e.has("language"), "{e:?}");
    }

    #[test]
    fn a_webhook_needs_tls_except_to_this_machine_and_at_least_one_event() {
        let form = |url: &str, events: &[&str]| WebhookForm {
            url: url.into(),
            events: events.iter().map(|s| s.to_string()).collect(),
            description: String::new(),
        };
        assert!(form("https://ict.asl.example.it/percorsi", &["segnalazione_ricevuta"]).validate().is_ok());
        assert!(form("http://127.0.0.1:9000/hook", &["consenso_revocato"]).validate().is_ok());
        assert!(form("http://localhost/hook", &["consenso_revocato"]).validate().is_ok());
        for url in ["http://ict.asl.example.it/hook", "ftp://x.it", "https://", "https:///x", "https://a b.it", ""] {
            assert!(form(url, &["consenso_revocato"]).validate().expect_err(url).has("url"), "{url}");
        }
        assert!(form("https://x.it", &[]).validate().expect_err("no events").has("events"));
        assert!(form("https://x.it", &["riepilogo_giornaliero"]).validate().expect_err("digest").has("events"));
    }

    #[test]
    fn retries_back_off_to_six_hours() {
        assert_eq!(retry_delay(1), Duration::seconds(30));
        assert_eq!(retry_delay(2), Duration::seconds(60));
        assert_eq!(retry_delay(5), Duration::seconds(480));
        assert_eq!(retry_delay(MAX_ATTEMPTS), Duration::hours(6));
        assert!((1..MAX_ATTEMPTS).all(|n| retry_delay(n) <= retry_delay(n + 1)));
    }

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z").expect("time").with_timezone(&Utc);
        let body = br#"{"event":"referral.received"}"#;
        let h = signature("s3cret", at, body);
        assert!(h.starts_with(&format!("t={},v1=", at.timestamp())), "{h}");
        let tol = Duration::minutes(5);
        assert!(verify_signature("s3cret", &h, body, at + Duration::minutes(1), tol));
        assert!(!verify_signature("other", &h, body, at, tol));
        assert!(!verify_signature("s3cret", &h, br#"{"event":"referral.decided"}"#, at, tol));
        assert!(!verify_signature("s3cret", &h, body, at + Duration::minutes(6), tol));
        assert!(!verify_signature("s3cret", "t=1,v1=zz", body, at, tol));
    }

    #[test]
    fn every_outgoing_notification_maps_to_an_event_and_links_to_a_list() {
        for m in ["notif-referral-received", "notif-referral-declined", "notif-glass-review", "notif-consent-revoked"] {
            let e = Event::of_notification(m).expect(m);
            assert!(!e.link().contains("persone"), "{m}");
        }
        assert_eq!(Event::of_notification("notif-something-else"), None);
        assert!(!Event::for_webhooks().any(|e| e == Event::Digest));
    }
}
