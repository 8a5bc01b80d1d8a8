//! Break-the-glass grants and the grounds on which an organisation sees a person: what the
//! policy needs to build a `PersonAccess`.

use crate::rows::{bool_col, opt_bool};
use crate::scope::{scoped, Scope};
use crate::{Mode, Result, Tx, Write};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// One emergency opening of a person's record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GlassRow {
    pub id: i64,
    pub person_id: i64,
    pub person_code: String,
    pub user_id: i64,
    pub user_name: String,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub reason: String,
    pub started_at: String,
    pub expires_at: String,
    pub reviewed_at: Option<String>,
    pub reviewer_name: Option<String>,
    pub justified: Option<bool>,
    pub review_note: Option<String>,
}

/// Why an organisation sees a person, ground by ground (the SQL visibility rule, itemised).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grounds {
    /// The organisation has an open care episode with the person.
    pub in_charge: bool,
    /// The acting user is on an open episode's care team for this organisation.
    pub team: bool,
    /// Purposes of the consents in force naming this organisation.
    pub purposes: Vec<String>,
    /// The acting user opened the record with break-the-glass and the grant is in force.
    pub glass: bool,
    /// The organisation recorded the person's access (first contact) in the last 90 days.
    pub access: bool,
}

impl Grounds {
    pub fn any(&self) -> bool {
        self.in_charge || self.team || !self.purposes.is_empty() || self.glass || self.access
    }
}

const SELECT: &str = "SELECT g.id, g.person_id, p.code AS person_code, g.user_id, u.display_name AS user_name, \
    g.organisation_id, o.name AS organisation_name, g.reason, g.started_at, g.expires_at, g.reviewed_at, \
    r.display_name AS reviewer_name, g.justified, g.review_note \
    FROM glass_access g JOIN persons p ON p.id = g.person_id JOIN users u ON u.id = g.user_id \
    JOIN organisations o ON o.id = g.organisation_id LEFT JOIN users r ON r.id = g.reviewed_by";

fn map(r: &AnyRow) -> Result<GlassRow> {
    Ok(GlassRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        person_code: r.try_get("person_code")?,
        user_id: r.try_get("user_id")?,
        user_name: r.try_get("user_name")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        reason: r.try_get("reason")?,
        started_at: r.try_get("started_at")?,
        expires_at: r.try_get("expires_at")?,
        reviewed_at: r.try_get("reviewed_at")?,
        reviewer_name: r.try_get("reviewer_name")?,
        justified: opt_bool(r, "justified")?,
        review_note: r.try_get("review_note")?,
    })
}

impl<M: Mode> Tx<M> {
    /// The grants of a user acting in an organisation that are still in force at `now`.
    pub async fn glass_in_force(&mut self, user_id: i64, organisation_id: i64, now: &str) -> Result<Vec<GlassRow>> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE g.user_id = $1 AND g.organisation_id = $2 AND g.expires_at > $3 ORDER BY g.expires_at"
        ))
        .bind(user_id)
        .bind(organisation_id)
        .bind(now)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(map).collect()
    }

    /// How many emergency openings wait for the auditor's review.
    pub async fn glass_unreviewed(&mut self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM glass_access WHERE reviewed_at IS NULL")
            .fetch_one(self.conn())
            .await?)
    }

    /// Grants for the auditor: those not yet reviewed first, newest first.
    pub async fn glass_for_review(&mut self, limit: i64) -> Result<Vec<GlassRow>> {
        let rows = sqlx::query(&format!("{SELECT} ORDER BY g.reviewed_at IS NOT NULL, g.id DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(map).collect()
    }

    pub async fn glass(&mut self, id: i64) -> Result<Option<GlassRow>> {
        let r = sqlx::query(&format!("{SELECT} WHERE g.id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map).transpose()
    }

    /// On which grounds the scope sees the person; none means not visible.
    pub async fn grounds(&mut self, scope: &Scope, person_id: i64) -> Result<Grounds> {
        let sql = "SELECT \
              EXISTS (SELECT 1 FROM care_episodes e WHERE e.person_id = $4 AND e.organisation_id = $1 \
                      AND e.start_date <= $3 AND (e.end_date IS NULL OR e.end_date >= $3)) AS in_charge, \
              EXISTS (SELECT 1 FROM care_team_members t JOIN care_episodes te ON te.id = t.episode_id \
                      WHERE te.person_id = $4 AND t.user_id = $2 AND t.organisation_id = $1 AND t.removed_at IS NULL \
                      AND (te.end_date IS NULL OR te.end_date >= $3)) AS team, \
              EXISTS (SELECT 1 FROM accesses a WHERE a.person_id = $4 AND a.organisation_id = $1 \
                      AND a.access_date <= $3 AND a.visible_until >= $3) AS access";
        let r = scoped(sql, scope).bind(person_id).fetch_one(self.conn()).await?;
        let purposes: Vec<String> = sqlx::query(
            "SELECT DISTINCT c.purpose FROM consents c WHERE c.person_id = $1 AND c.organisation_id = $2 \
             AND c.revoked_at IS NULL AND c.start_date <= $3 AND (c.expiry_date IS NULL OR c.expiry_date >= $3) \
             ORDER BY c.purpose",
        )
        .bind(person_id)
        .bind(scope.organisation_id)
        .bind(scope.today_text())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|r| r.try_get("purpose"))
        .collect::<std::result::Result<_, _>>()?;
        Ok(Grounds {
            in_charge: bool_col(&r, "in_charge")?,
            team: bool_col(&r, "team")?,
            purposes,
            glass: scope.glass.contains(&person_id),
            access: bool_col(&r, "access")?,
        })
    }

    /// Organisations with an open care episode with the person (to tell them of an emergency
    /// access).
    pub async fn organisations_in_charge(&mut self, person_id: i64, today: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT DISTINCT organisation_id FROM care_episodes WHERE person_id = $1 AND start_date <= $2 \
             AND (end_date IS NULL OR end_date >= $2) ORDER BY organisation_id",
        )
        .bind(person_id)
        .bind(today)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("organisation_id")?)).collect()
    }
}

impl Tx<Write> {
    pub async fn insert_glass(
        &mut self,
        person_id: i64,
        user_id: i64,
        organisation_id: i64,
        reason: &str,
        started_at: &str,
        expires_at: &str,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO glass_access (person_id, user_id, organisation_id, reason, started_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(person_id)
        .bind(user_id)
        .bind(organisation_id)
        .bind(reason)
        .bind(started_at)
        .bind(expires_at)
        .fetch_one(self.conn())
        .await?)
    }

    /// The auditor's verdict; a grant is reviewed once.
    pub async fn review_glass(&mut self, id: i64, reviewer: i64, justified: bool, note: &str, at: &str) -> Result<()> {
        crate::rows::found(
            sqlx::query(
                "UPDATE glass_access SET reviewed_by = $1, reviewed_at = $2, justified = $3, review_note = $4 \
                 WHERE id = $5 AND reviewed_at IS NULL",
            )
            .bind(reviewer)
            .bind(at)
            .bind(justified)
            .bind(note)
            .bind(id)
            .execute(self.conn())
            .await?
            .rows_affected(),
        )
    }
}
