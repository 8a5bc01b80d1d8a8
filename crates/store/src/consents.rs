use crate::rows::{date, date_text, found, now, opt_date};
use crate::scope::{scoped, Scope};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::consent::NewConsent;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentRow {
    pub id: i64,
    pub person_id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub purpose: String,
    pub start_date: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
    pub revoked_at: Option<String>,
    pub recorded_by_name: String,
    pub created_at: String,
}

impl<M: Mode> Tx<M> {
    pub async fn consents_of_person(&mut self, scope: &Scope, person_id: i64) -> Result<Vec<ConsentRow>> {
        let sql =
            format!("{SELECT} WHERE c.person_id = $4 AND {} ORDER BY c.created_at DESC", scope.visible("c.person_id"));
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// Every consent of a person, for the person's own page (their account is the grant).
    pub async fn consents_of(&mut self, person_id: i64) -> Result<Vec<ConsentRow>> {
        let sql = format!("{SELECT} WHERE c.person_id = $1 ORDER BY c.created_at DESC");
        let rows = sqlx::query(&sql).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }
}

const SELECT: &str =
    "SELECT c.id, c.person_id, c.organisation_id, o.name AS organisation_name, c.purpose, c.start_date, \
     c.expiry_date, c.revoked_at, u.display_name AS recorded_by_name, c.created_at FROM consents c \
     JOIN organisations o ON o.id = c.organisation_id JOIN users u ON u.id = c.recorded_by";

fn map(r: &sqlx::any::AnyRow) -> Result<ConsentRow> {
    Ok(ConsentRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        purpose: r.try_get("purpose")?,
        start_date: date(r, "start_date")?,
        expiry_date: opt_date(r, "expiry_date")?,
        revoked_at: r.try_get("revoked_at")?,
        recorded_by_name: r.try_get("recorded_by_name")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Tx<Write> {
    pub async fn insert_consent(&mut self, person_id: i64, c: &NewConsent, user_id: i64, org_id: i64) -> Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO consents (person_id, organisation_id, purpose, start_date, expiry_date, recorded_by, recorded_by_org, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(person_id)
        .bind(c.organisation_id)
        .bind(c.purpose.code())
        .bind(date_text(c.start_date))
        .bind(c.expiry_date.map(date_text))
        .bind(user_id)
        .bind(org_id)
        .bind(now())
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    pub async fn revoke_consent(&mut self, person_id: i64, id: i64, user_id: i64) -> Result<()> {
        found(sqlx::query("UPDATE consents SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND person_id = $4 AND revoked_at IS NULL")
            .bind(now())
            .bind(user_id)
            .bind(id)
            .bind(person_id)
            .execute(self.conn())
            .await?
            .rows_affected())?;
        Ok(())
    }
}
