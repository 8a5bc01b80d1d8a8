//! Referrals and notifications.

use crate::rows::now;
use crate::scope::{scoped, Scope};
use crate::{Mode, Result, StoreError, Tx, Write};
use percorsi_domain::notification::Event;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralRow {
    pub id: i64,
    pub person_id: i64,
    pub person_code: String,
    /// "Surname Name" where the reader may see the person's identity (`Scope::names`).
    pub person_name: Option<String>,
    pub from_org: Option<i64>,
    pub from_org_name: Option<String>,
    pub to_org: i64,
    pub to_org_name: String,
    pub support: Option<String>,
    pub reason: String,
    pub urgency: String,
    pub status: String,
    pub decision_reason: Option<String>,
    pub created_by_name: String,
    pub created_at: String,
    pub decided_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationRow {
    pub id: i64,
    pub message: String,
    /// JSON object of the message's arguments.
    pub args: String,
    pub link: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

pub struct ReferralInsert<'a> {
    pub person_id: i64,
    pub from_org: Option<i64>,
    pub to_org: i64,
    pub support: Option<&'a str>,
    pub reason: &'a str,
    pub urgency: &'a str,
    pub created_by: i64,
}

/// The referral columns with `name_column` (a `person_name` expression: the scope's rule, or
/// NULL where no reader's scope applies).
fn select(name_column: &str) -> String {
    format!(
        "SELECT r.id, r.person_id, p.code AS person_code, {name_column}, r.from_org, f.name AS from_org_name, r.to_org, \
         t.name AS to_org_name, r.support, r.reason, r.urgency, r.status, r.decision_reason, u.display_name AS created_by_name, \
         r.created_at, r.decided_at FROM referrals r JOIN persons p ON p.id = r.person_id LEFT JOIN organisations f ON f.id = r.from_org \
         JOIN organisations t ON t.id = r.to_org JOIN users u ON u.id = r.created_by"
    )
}

fn map(r: &AnyRow) -> Result<ReferralRow> {
    Ok(ReferralRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        person_code: r.try_get("person_code")?,
        person_name: r.try_get("person_name")?,
        from_org: r.try_get("from_org")?,
        from_org_name: r.try_get("from_org_name")?,
        to_org: r.try_get("to_org")?,
        to_org_name: r.try_get("to_org_name")?,
        support: r.try_get("support")?,
        reason: r.try_get("reason")?,
        urgency: r.try_get("urgency")?,
        status: r.try_get("status")?,
        decision_reason: r.try_get("decision_reason")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
    })
}

impl<M: Mode> Tx<M> {
    pub async fn referral(&mut self, id: i64) -> Result<Option<ReferralRow>> {
        let r = sqlx::query(&format!("{} WHERE r.id = $1", select("NULL AS person_name")))
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        r.as_ref().map(map).transpose()
    }

    /// Referrals the scope's organisation sent or received, open ones first, most urgent first.
    pub async fn referrals_of_organisation(&mut self, scope: &Scope) -> Result<Vec<ReferralRow>> {
        let sql = format!(
            "{} WHERE (r.to_org = $1 OR r.from_org = $1) ORDER BY CASE r.status WHEN 'aperta' THEN 0 ELSE 1 END, \
             CASE r.urgency WHEN 'molto_urgente' THEN 0 WHEN 'urgente' THEN 1 ELSE 2 END, r.created_at DESC",
            select(&scope.person_name("r.person_id"))
        );
        let rows = scoped(&sql, scope).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// A person's referrals that involve the scope's organisation.
    pub async fn referrals_of_person(&mut self, scope: &Scope, person_id: i64) -> Result<Vec<ReferralRow>> {
        let sql = format!(
            "{} WHERE r.person_id = $4 AND (r.to_org = $1 OR r.from_org = $1) ORDER BY r.created_at DESC",
            select(&scope.person_name("r.person_id"))
        );
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// Unread notifications of an organisation, and referrals it received still open.
    pub async fn waiting(&mut self, org: i64) -> Result<(i64, i64)> {
        let unread =
            sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE organisation_id = $1 AND read_at IS NULL")
                .bind(org)
                .fetch_one(self.conn())
                .await?;
        let open = sqlx::query_scalar("SELECT COUNT(*) FROM referrals WHERE to_org = $1 AND status = 'aperta'")
            .bind(org)
            .fetch_one(self.conn())
            .await?;
        Ok((unread, open))
    }

    pub async fn notifications(&mut self, org: i64) -> Result<Vec<NotificationRow>> {
        let rows = sqlx::query(
            "SELECT id, message, args, link, created_at, read_at FROM notifications WHERE organisation_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 100",
        )
        .bind(org)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NotificationRow {
                    id: r.try_get("id")?,
                    message: r.try_get("message")?,
                    args: r.try_get("args")?,
                    link: r.try_get("link")?,
                    created_at: r.try_get("created_at")?,
                    read_at: r.try_get("read_at")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    pub async fn insert_referral(&mut self, r: &ReferralInsert<'_>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO referrals (person_id, from_org, to_org, support, reason, urgency, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'aperta', $7, $8) RETURNING id",
        )
        .bind(r.person_id)
        .bind(r.from_org)
        .bind(r.to_org)
        .bind(r.support)
        .bind(r.reason)
        .bind(r.urgency)
        .bind(r.created_by)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }

    pub async fn decide_referral(&mut self, id: i64, status: &str, reason: Option<&str>, user_id: i64) -> Result<()> {
        let n = sqlx::query(
            "UPDATE referrals SET status = $1, decision_reason = $2, decided_by = $3, decided_at = $4 WHERE id = $5 AND status = 'aperta'",
        )
        .bind(status)
        .bind(reason)
        .bind(user_id)
        .bind(now())
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn notify(&mut self, org: i64, message: &str, args: &str, link: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO notifications (organisation_id, message, args, link, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org)
        .bind(message)
        .bind(args)
        .bind(link)
        .bind(now())
        .execute(self.conn())
        .await?;
        // Every notification that leaves (e-mail, webhook) is queued here, in the transaction
        // of the change, so no use case can forget it and none is sent for a change rolled back.
        if let Some(event) = Event::of_notification(message) {
            let payload = serde_json::json!({ "occurred_at": now() }).to_string();
            self.enqueue_event(org, event, &payload).await?;
        }
        Ok(())
    }

    pub async fn mark_notifications_read(&mut self, org: i64) -> Result<()> {
        sqlx::query("UPDATE notifications SET read_at = $1 WHERE organisation_id = $2 AND read_at IS NULL")
            .bind(now())
            .bind(org)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
