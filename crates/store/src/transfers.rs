//! Case transfers (migration 0022): proposed by the organisation in charge, decided once by the
//! receiver. The decision is guarded by the status, so two receivers racing to decide the same
//! transfer cannot both succeed.

use crate::rows::{found, now};
use crate::scope::{scoped, Scope};
use crate::{Mode, Result, Tx, Write};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferRow {
    pub id: i64,
    pub person_id: i64,
    pub person_code: String,
    /// Where the reader may see the person's identity (the receiver, before accepting, not).
    pub person_name: Option<String>,
    pub episode_id: i64,
    pub from_org: i64,
    pub from_org_name: String,
    pub to_org: i64,
    pub to_org_name: String,
    pub to_user: Option<i64>,
    pub to_user_name: Option<String>,
    pub handover: String,
    pub status: String,
    pub decision_note: Option<String>,
    pub created_by_name: String,
    pub created_at: String,
    pub decided_at: Option<String>,
}

/// What a new transfer writes.
pub struct TransferInsert<'a> {
    pub person_id: i64,
    pub episode_id: i64,
    pub from_org: i64,
    pub to_org: i64,
    pub to_user: Option<i64>,
    pub handover: &'a str,
    pub created_by: i64,
}

fn select(name_column: &str) -> String {
    format!(
        "SELECT t.id, t.person_id, p.code AS person_code, {name_column}, t.episode_id, t.from_org, f.name AS from_org_name, \
         t.to_org, o.name AS to_org_name, t.to_user, tu.display_name AS to_user_name, t.handover, t.status, t.decision_note, \
         u.display_name AS created_by_name, t.created_at, t.decided_at \
         FROM transfers t JOIN persons p ON p.id = t.person_id JOIN organisations f ON f.id = t.from_org \
         JOIN organisations o ON o.id = t.to_org LEFT JOIN users tu ON tu.id = t.to_user JOIN users u ON u.id = t.created_by"
    )
}

fn map(r: &AnyRow) -> Result<TransferRow> {
    Ok(TransferRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        person_code: r.try_get("person_code")?,
        person_name: r.try_get("person_name")?,
        episode_id: r.try_get("episode_id")?,
        from_org: r.try_get("from_org")?,
        from_org_name: r.try_get("from_org_name")?,
        to_org: r.try_get("to_org")?,
        to_org_name: r.try_get("to_org_name")?,
        to_user: r.try_get("to_user")?,
        to_user_name: r.try_get("to_user_name")?,
        handover: r.try_get("handover")?,
        status: r.try_get("status")?,
        decision_note: r.try_get("decision_note")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
    })
}

impl<M: Mode> Tx<M> {
    pub async fn transfer(&mut self, id: i64) -> Result<Option<TransferRow>> {
        let r = sqlx::query(&format!("{} WHERE t.id = $1", select("NULL AS person_name")))
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        r.as_ref().map(map).transpose()
    }

    /// Transfers the scope's organisation sent or received, open ones first, newest first.
    pub async fn transfers_of_organisation(&mut self, scope: &Scope) -> Result<Vec<TransferRow>> {
        let sql = format!(
            "{} WHERE (t.to_org = $1 OR t.from_org = $1) \
             ORDER BY CASE t.status WHEN 'proposto' THEN 0 ELSE 1 END, t.created_at DESC LIMIT 200",
            select(&scope.person_name("t.person_id"))
        );
        let rows = scoped(&sql, scope).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// A person's transfers that involve the scope's organisation.
    pub async fn transfers_of_person(&mut self, scope: &Scope, person_id: i64) -> Result<Vec<TransferRow>> {
        let sql = format!(
            "{} WHERE t.person_id = $4 AND (t.to_org = $1 OR t.from_org = $1) ORDER BY t.created_at DESC",
            select(&scope.person_name("t.person_id"))
        );
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// Open transfers waiting for the organisation's decision.
    pub async fn transfers_waiting(&mut self, org: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM transfers WHERE to_org = $1 AND status = 'proposto'")
            .bind(org)
            .fetch_one(self.conn())
            .await?)
    }
}

impl Tx<Write> {
    /// `Duplicate` when the episode already has an open transfer.
    pub async fn insert_transfer(&mut self, t: &TransferInsert<'_>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO transfers (person_id, episode_id, from_org, to_org, to_user, handover, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'proposto', $7, $8) RETURNING id",
        )
        .bind(t.person_id)
        .bind(t.episode_id)
        .bind(t.from_org)
        .bind(t.to_org)
        .bind(t.to_user)
        .bind(t.handover)
        .bind(t.created_by)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }

    /// Decides an open transfer; `NotFound` when it was no longer open (someone else decided or
    /// withdrew it first). The row stays locked until the transaction ends.
    pub async fn decide_transfer(&mut self, id: i64, status: &str, note: Option<&str>, user_id: i64) -> Result<()> {
        found(
            sqlx::query(
                "UPDATE transfers SET status = $1, decision_note = $2, decided_by = $3, decided_at = $4 \
                 WHERE id = $5 AND status = 'proposto'",
            )
            .bind(status)
            .bind(note)
            .bind(user_id)
            .bind(now())
            .bind(id)
            .execute(self.conn())
            .await?
            .rows_affected(),
        )
    }

    /// Records the episode an accepted transfer opened at the receiver.
    pub async fn transfer_opened(&mut self, id: i64, episode_id: i64) -> Result<()> {
        found(
            sqlx::query("UPDATE transfers SET new_episode_id = $1 WHERE id = $2")
                .bind(episode_id)
                .bind(id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    /// The case manager of an open episode, and of the organisation's projects in force for
    /// the person, becomes `user_id` (a transfer within the organisation).
    pub async fn reassign_case(
        &mut self,
        episode_id: i64,
        person_id: i64,
        organisation_id: i64,
        user_id: i64,
        today: &str,
    ) -> Result<()> {
        found(
            sqlx::query("UPDATE care_episodes SET case_manager_id = $1 WHERE id = $2 AND end_date IS NULL")
                .bind(user_id)
                .bind(episode_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        sqlx::query(
            "UPDATE projects SET case_manager_id = $1 WHERE person_id = $2 AND organisation_id = $3 AND end_date >= $4",
        )
        .bind(user_id)
        .bind(person_id)
        .bind(organisation_id)
        .bind(today)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
