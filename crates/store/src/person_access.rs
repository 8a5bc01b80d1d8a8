//! The person's own access (migration 0021): invitations by the organisation in charge, the
//! account each becomes, and the person's self-assessments.

use crate::engine::{Mode, Tx, Write};
use crate::rows::{date, date_text, found, now};
use crate::Result;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;

/// An invitation found by its code.
#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: i64,
    pub person_id: i64,
    pub organisation_id: i64,
    pub expires_at: String,
    pub used_at: Option<String>,
}

/// A self-assessment as stored (answers and scores as JSON).
#[derive(Debug, Clone, Serialize)]
pub struct SelfAssessmentRow {
    pub id: i64,
    pub assessed_on: NaiveDate,
    pub organisation_id: i64,
    pub answers: String,
    pub scores: String,
}

impl<M: Mode> Tx<M> {
    pub async fn invitation_by_hash(&mut self, code_hash: &str) -> Result<Option<InvitationRow>> {
        let row = sqlx::query(
            "SELECT id, person_id, organisation_id, expires_at, used_at FROM person_invitations WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| {
            Ok(InvitationRow {
                id: r.try_get("id")?,
                person_id: r.try_get("person_id")?,
                organisation_id: r.try_get("organisation_id")?,
                expires_at: r.try_get("expires_at")?,
                used_at: r.try_get("used_at")?,
            })
        })
        .transpose()
    }

    /// The person an account belongs to.
    pub async fn person_of_account(&mut self, user_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT person_id FROM person_accounts WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.conn())
            .await?)
    }

    /// The organisation that invited the person of an account.
    pub async fn account_organisation(&mut self, user_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT organisation_id FROM person_accounts WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.conn())
            .await?)
    }

    /// The account of a person, and whether it is active.
    pub async fn account_of_person(&mut self, person_id: i64) -> Result<Option<(i64, bool)>> {
        let row = sqlx::query(
            "SELECT a.user_id, u.active FROM person_accounts a JOIN users u ON u.id = a.user_id WHERE a.person_id = $1",
        )
        .bind(person_id)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| Ok((r.try_get("user_id")?, crate::rows::bool_col(&r, "active")?))).transpose()
    }

    /// The users who are people's own accounts (left out of the administrators' lists).
    pub async fn person_account_users(&mut self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT user_id FROM person_accounts").fetch_all(self.conn()).await?)
    }

    pub async fn self_assessments(&mut self, person_id: i64) -> Result<Vec<SelfAssessmentRow>> {
        let rows = sqlx::query(
            "SELECT id, assessed_on, organisation_id, answers, scores FROM self_assessments WHERE person_id = $1 \
             ORDER BY assessed_on, id",
        )
        .bind(person_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SelfAssessmentRow {
                    id: r.try_get("id")?,
                    assessed_on: date(r, "assessed_on")?,
                    organisation_id: r.try_get("organisation_id")?,
                    answers: r.try_get("answers")?,
                    scores: r.try_get("scores")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    /// A new invitation; any earlier one still open for the person stops working.
    pub async fn insert_invitation(
        &mut self,
        person_id: i64,
        organisation_id: i64,
        created_by: i64,
        code_hash: &str,
        expires_at: &str,
    ) -> Result<i64> {
        let at = now();
        sqlx::query("UPDATE person_invitations SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL")
            .bind(&at)
            .bind(person_id)
            .execute(self.conn())
            .await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO person_invitations (code_hash, person_id, organisation_id, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(code_hash)
        .bind(person_id)
        .bind(organisation_id)
        .bind(created_by)
        .bind(&at)
        .bind(expires_at)
        .fetch_one(self.conn())
        .await?)
    }

    /// Marks an invitation used; `NotFound` if someone used it first.
    pub async fn use_invitation(&mut self, id: i64) -> Result<()> {
        found(
            sqlx::query("UPDATE person_invitations SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now())
                .bind(id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    pub async fn insert_person_account(&mut self, user_id: i64, person_id: i64, organisation_id: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO person_accounts (user_id, person_id, organisation_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(person_id)
        .bind(organisation_id)
        .bind(now())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn insert_self_assessment(
        &mut self,
        person_id: i64,
        organisation_id: i64,
        instrument_id: i64,
        assessed_on: NaiveDate,
        answers: &str,
        scores: &str,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO self_assessments (person_id, organisation_id, instrument_id, assessed_on, answers, scores, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(person_id)
        .bind(organisation_id)
        .bind(instrument_id)
        .bind(date_text(assessed_on))
        .bind(answers)
        .bind(scores)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }
}
