//! The outbox of e-mails and webhook calls (migration 0023, ADR 0018): written in the
//! transaction of the change they announce, claimed by one app server at a time, and kept with
//! every attempt for the delivery log.

use crate::rows::now;
use crate::{Mode, Result, Tx, Write};
use percorsi_domain::notification::{
    events_text, parse_events, Event, MailLanguage, MailPreferences, NewWebhook, RECIPIENT_ROLES,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MailPreferencesRow {
    pub address: String,
    pub language: String,
    pub events: Vec<Event>,
    pub last_digest: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookRow {
    pub id: i64,
    pub organisation_id: i64,
    pub url: String,
    pub events: Vec<Event>,
    pub description: String,
    pub active: bool,
    pub created_at: String,
    /// Deliveries not yet acknowledged and still being retried.
    pub pending: i64,
    /// Deliveries given up after the last retry.
    pub failed: i64,
}

/// One delivery as its sender needs it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub channel: String,
    pub event: Event,
    pub organisation_id: i64,
    pub payload: String,
    pub attempts: i64,
    pub created_at: String,
    /// E-mail: where and in which language.
    pub address: Option<String>,
    pub language: Option<MailLanguage>,
    /// Webhook: where and with which secret.
    pub url: Option<String>,
    pub secret: Option<String>,
}

/// One line of a webhook's delivery log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryLogRow {
    pub id: i64,
    pub event: String,
    pub created_at: String,
    pub attempts: i64,
    pub delivered_at: Option<String>,
    pub failed_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    /// The HTTP status of the last attempt, when one came back.
    pub last_status: Option<i64>,
}

/// A user who asked for the daily digest, with what it is about.
#[derive(Debug, Clone)]
pub struct DigestRecipient {
    pub user_id: i64,
    pub organisation_ids: Vec<i64>,
}

impl<M: Mode> Tx<M> {
    pub async fn mail_preferences(&mut self, user_id: i64) -> Result<Option<MailPreferencesRow>> {
        let row = sqlx::query("SELECT address, language, events, last_digest FROM mail_preferences WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| {
            Ok(MailPreferencesRow {
                address: r.try_get("address")?,
                language: r.try_get("language")?,
                events: parse_events(&r.try_get::<String, _>("events")?),
                last_digest: r.try_get("last_digest")?,
            })
        })
        .transpose()
    }

    pub async fn webhooks(&mut self, organisation_id: i64) -> Result<Vec<WebhookRow>> {
        let rows = sqlx::query(
            "SELECT w.id, w.organisation_id, w.url, w.events, w.description, \
             CAST(CASE WHEN w.active THEN 1 ELSE 0 END AS BIGINT) AS active, w.created_at, \
             (SELECT COUNT(*) FROM outbox b WHERE b.webhook_id = w.id AND b.delivered_at IS NULL AND b.failed_at IS NULL) AS pending, \
             (SELECT COUNT(*) FROM outbox b WHERE b.webhook_id = w.id AND b.failed_at IS NOT NULL) AS failed \
             FROM webhooks w WHERE w.organisation_id = $1 ORDER BY w.id",
        )
        .bind(organisation_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(map_webhook).collect()
    }

    pub async fn webhook(&mut self, organisation_id: i64, id: i64) -> Result<Option<WebhookRow>> {
        Ok(self.webhooks(organisation_id).await?.into_iter().find(|w| w.id == id))
    }

    /// The latest deliveries of a webhook, newest first.
    pub async fn webhook_log(&mut self, webhook_id: i64, limit: i64) -> Result<Vec<DeliveryLogRow>> {
        let rows = sqlx::query(
            "SELECT b.id, b.event, b.created_at, b.attempts, b.delivered_at, b.failed_at, b.last_error, \
             CASE WHEN b.delivered_at IS NULL AND b.failed_at IS NULL THEN b.next_attempt_at END AS next_attempt_at, \
             (SELECT a.status FROM delivery_attempts a WHERE a.outbox_id = b.id ORDER BY a.id DESC LIMIT 1) AS last_status \
             FROM outbox b WHERE b.webhook_id = $1 ORDER BY b.id DESC LIMIT $2",
        )
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryLogRow {
                    id: r.try_get("id")?,
                    event: r.try_get("event")?,
                    created_at: r.try_get("created_at")?,
                    attempts: r.try_get("attempts")?,
                    delivered_at: r.try_get("delivered_at")?,
                    failed_at: r.try_get("failed_at")?,
                    next_attempt_at: r.try_get("next_attempt_at")?,
                    last_error: r.try_get("last_error")?,
                    last_status: r.try_get("last_status")?,
                })
            })
            .collect()
    }

    /// Users who want the digest and have not had today's, with the organisations they act for.
    pub async fn digest_recipients(&mut self, today: &str) -> Result<Vec<DigestRecipient>> {
        let rows = sqlx::query(
            "SELECT mp.user_id, m.organisation_id FROM mail_preferences mp \
             JOIN users u ON u.id = mp.user_id AND u.active \
             JOIN memberships m ON m.user_id = mp.user_id AND m.active \
             WHERE ',' || mp.events || ',' LIKE $1 AND (mp.last_digest IS NULL OR mp.last_digest < $2) \
             ORDER BY mp.user_id, m.organisation_id",
        )
        .bind(format!("%,{},%", Event::Digest.code()))
        .bind(today)
        .fetch_all(self.conn())
        .await?;
        let mut out: Vec<DigestRecipient> = Vec::new();
        for r in &rows {
            let user_id: i64 = r.try_get("user_id")?;
            let org: i64 = r.try_get("organisation_id")?;
            match out.last_mut() {
                Some(last) if last.user_id == user_id => {
                    if !last.organisation_ids.contains(&org) {
                        last.organisation_ids.push(org);
                    }
                }
                _ => out.push(DigestRecipient { user_id, organisation_ids: vec![org] }),
            }
        }
        Ok(out)
    }

    /// Deliveries not yet acknowledged, for the operations page and `/readyz`-style checks.
    pub async fn outbox_backlog(&mut self) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN delivered_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0) AS pending, \
             COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed FROM outbox",
        )
        .fetch_one(self.conn())
        .await?;
        Ok((row.try_get("pending")?, row.try_get("failed")?))
    }
}

fn map_webhook(r: &AnyRow) -> Result<WebhookRow> {
    Ok(WebhookRow {
        id: r.try_get("id")?,
        organisation_id: r.try_get("organisation_id")?,
        url: r.try_get("url")?,
        events: parse_events(&r.try_get::<String, _>("events")?),
        description: r.try_get("description")?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: r.try_get("created_at")?,
        pending: r.try_get("pending")?,
        failed: r.try_get("failed")?,
    })
}

impl Tx<Write> {
    pub async fn set_mail_preferences(&mut self, user_id: i64, p: Option<&MailPreferences>) -> Result<()> {
        sqlx::query("DELETE FROM mail_preferences WHERE user_id = $1").bind(user_id).execute(self.conn()).await?;
        if let Some(p) = p {
            sqlx::query(
                "INSERT INTO mail_preferences (user_id, address, language, events, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user_id)
            .bind(&p.address)
            .bind(p.language.code())
            .bind(events_text(&p.events))
            .bind(now())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    pub async fn insert_webhook(&mut self, organisation_id: i64, w: &NewWebhook, secret: &str, by: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO webhooks (organisation_id, url, secret, events, description, active, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7) RETURNING id",
        )
        .bind(organisation_id)
        .bind(&w.url)
        .bind(secret)
        .bind(events_text(&w.events))
        .bind(&w.description)
        .bind(by)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }

    /// Stops a webhook: no new deliveries, and those still waiting are given up.
    pub async fn deactivate_webhook(&mut self, organisation_id: i64, id: i64) -> Result<()> {
        let n = sqlx::query("UPDATE webhooks SET active = FALSE WHERE id = $1 AND organisation_id = $2 AND active")
            .bind(id)
            .bind(organisation_id)
            .execute(self.conn())
            .await?
            .rows_affected();
        crate::rows::found(n)?;
        let at = now();
        sqlx::query(
            "UPDATE outbox SET failed_at = $1, last_error = 'webhook disattivato' \
             WHERE webhook_id = $2 AND delivered_at IS NULL AND failed_at IS NULL",
        )
        .bind(&at)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Puts the e-mails and webhook calls announcing `event` in `organisation_id` in the outbox:
    /// one mail per active member who asked for it, one call per active webhook subscribed.
    pub async fn enqueue_event(&mut self, organisation_id: i64, event: Event, payload: &str) -> Result<()> {
        let at = now();
        let pattern = format!("%,{},%", event.code());
        sqlx::query(
            "INSERT INTO outbox (channel, event, user_id, organisation_id, payload, created_at, next_attempt_at) \
             SELECT DISTINCT 'email', $1, mp.user_id, $2, $3, $4, $4 FROM mail_preferences mp \
             JOIN users u ON u.id = mp.user_id AND u.active \
             JOIN memberships m ON m.user_id = mp.user_id AND m.active AND m.organisation_id = $2 \
             WHERE ',' || mp.events || ',' LIKE $5 AND ',' || $6 || ',' LIKE '%,' || m.role || ',%'",
        )
        .bind(event.code())
        .bind(organisation_id)
        .bind(payload)
        .bind(&at)
        .bind(&pattern)
        .bind(RECIPIENT_ROLES.iter().map(|r| r.code()).collect::<Vec<_>>().join(","))
        .execute(self.conn())
        .await?;
        sqlx::query(
            "INSERT INTO outbox (channel, event, webhook_id, organisation_id, payload, created_at, next_attempt_at) \
             SELECT 'webhook', $1, w.id, $2, $3, $4, $4 FROM webhooks w \
             WHERE w.organisation_id = $2 AND w.active AND ',' || w.events || ',' LIKE $5",
        )
        .bind(event.code())
        .bind(organisation_id)
        .bind(payload)
        .bind(&at)
        .bind(&pattern)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Today's digest for a user, once: a second server preparing it finds the key taken.
    /// `payload` is `None` when there is nothing to tell (the day is marked all the same).
    /// True when this call queued the mail.
    pub async fn enqueue_digest(
        &mut self,
        user_id: i64,
        organisation_id: i64,
        today: &str,
        payload: Option<&str>,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE mail_preferences SET last_digest = $1 WHERE user_id = $2 AND (last_digest IS NULL OR last_digest < $1)",
        )
        .bind(today)
        .bind(user_id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        let Some(payload) = payload else { return Ok(false) };
        {
            let at = now();
            sqlx::query(
                "INSERT INTO outbox (channel, event, user_id, organisation_id, payload, dedupe_key, created_at, next_attempt_at) \
                 VALUES ('email', $1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(Event::Digest.code())
            .bind(user_id)
            .bind(organisation_id)
            .bind(payload)
            .bind(format!("digest:{user_id}:{today}"))
            .bind(&at)
            .execute(self.conn())
            .await?;
        }
        Ok(true)
    }

    /// Claims up to `limit` deliveries due at `at` for `lease_until`: another server sees them
    /// as taken until then (and takes them over if this one died meanwhile).
    pub async fn claim_deliveries(&mut self, at: &str, lease_until: &str, limit: i64) -> Result<Vec<Delivery>> {
        // The conditions are repeated outside the subquery: on PostgreSQL a row another server
        // claimed meanwhile is re-checked against them and skipped.
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE outbox SET claimed_until = $1 \
             WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL \
                 AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3) \
             AND delivered_at IS NULL AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2) \
             RETURNING id",
        )
        .bind(lease_until)
        .bind(at)
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let r = sqlx::query(
                "SELECT b.id, b.channel, b.event, b.organisation_id, b.payload, b.attempts, b.created_at, \
                 mp.address, mp.language, w.url, w.secret \
                 FROM outbox b LEFT JOIN mail_preferences mp ON mp.user_id = b.user_id \
                 LEFT JOIN webhooks w ON w.id = b.webhook_id WHERE b.id = $1",
            )
            .bind(id)
            .fetch_one(self.conn())
            .await?;
            let event: String = r.try_get("event")?;
            let Some(event) = Event::parse(&event) else { continue };
            out.push(Delivery {
                id,
                channel: r.try_get("channel")?,
                event,
                organisation_id: r.try_get("organisation_id")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
                created_at: r.try_get("created_at")?,
                address: r.try_get("address")?,
                language: r.try_get::<Option<String>, _>("language")?.as_deref().and_then(MailLanguage::parse),
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
            });
        }
        Ok(out)
    }

    /// Gives back deliveries claimed but not tried (their destination was down this round).
    pub async fn release_deliveries(&mut self, ids: &[i64]) -> Result<()> {
        for id in ids {
            sqlx::query("UPDATE outbox SET claimed_until = NULL WHERE id = $1").bind(id).execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Records one attempt and what follows: delivered, tried again at `retry_at`, or given up
    /// (`retry_at` = `None` after a failure).
    pub async fn record_attempt(
        &mut self,
        id: i64,
        at: &str,
        ok: bool,
        status: Option<i64>,
        error: Option<&str>,
        retry_at: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO delivery_attempts (outbox_id, attempted_at, ok, status, error) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(at)
        .bind(ok)
        .bind(status)
        .bind(error)
        .execute(self.conn())
        .await?;
        let sql = if ok {
            "UPDATE outbox SET attempts = attempts + 1, delivered_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $1"
        } else if retry_at.is_some() {
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $1"
        } else {
            "UPDATE outbox SET attempts = attempts + 1, failed_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $1"
        };
        sqlx::query(sql)
            .bind(id)
            .bind(if ok { at } else { retry_at.unwrap_or(at) })
            .bind(error)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
