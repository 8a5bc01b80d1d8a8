//! Restriction of processing (GDPR art. 18). The database refuses every write to a restricted
//! person's rows (migration 0019's triggers, [`crate::StoreError::Restricted`]); this module
//! records and lifts restrictions and keeps restricted people out of everyday lists.

use crate::engine::{Mode, Tx, Write};
use crate::rows::now;
use crate::scope::{scoped, Scope};
use crate::{PersonSummary, Result};
use serde::Serialize;
use sqlx::Row;

/// A restriction in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RestrictionRow {
    pub restricted_at: String,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub reason: String,
}

/// SQL condition true when the person `person_expr` is not restricted: everyday lists (people,
/// agenda, interventions, tutoring) leave restricted people out.
pub(crate) fn unrestricted(person_expr: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM person_restrictions rs WHERE rs.person_id = {person_expr})")
}

impl<M: Mode> Tx<M> {
    pub async fn restriction(&mut self, person_id: i64) -> Result<Option<RestrictionRow>> {
        let row = sqlx::query(
            "SELECT r.restricted_at, r.organisation_id, o.name AS organisation_name, r.reason \
             FROM person_restrictions r JOIN organisations o ON o.id = r.organisation_id WHERE r.person_id = $1",
        )
        .bind(person_id)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| {
            Ok(RestrictionRow {
                restricted_at: r.try_get("restricted_at")?,
                organisation_id: r.try_get("organisation_id")?,
                organisation_name: r.try_get("organisation_name")?,
                reason: r.try_get("reason")?,
            })
        })
        .transpose()
    }

    /// The restricted people the scope sees, where they can still be found (they are left out
    /// of every other list).
    pub async fn persons_restricted(&mut self, scope: &Scope) -> Result<Vec<PersonSummary>> {
        let sql = format!(
            "SELECT p.id, p.code, p.anonymous, {}, p.birth_year, p.sex, \
               (SELECT MIN(e.start_date) FROM care_episodes e WHERE e.person_id = p.id AND e.organisation_id = $1 AND e.end_date IS NULL) AS episode_start \
             FROM person_restrictions r JOIN persons p ON p.id = r.person_id LEFT JOIN person_identities i ON i.person_id = p.id \
             WHERE {} ORDER BY surname, name, p.code",
            scope.names("p.id", "i"),
            scope.visible("p.id")
        );
        let rows = scoped(&sql, scope).fetch_all(self.conn()).await?;
        rows.iter().map(crate::persons::map_summary).collect()
    }
}

impl Tx<Write> {
    /// Restricts processing; `Duplicate` when the person is already restricted.
    pub async fn insert_restriction(
        &mut self,
        person_id: i64,
        organisation_id: i64,
        user_id: i64,
        reason: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO person_restrictions (person_id, restricted_at, organisation_id, user_id, reason) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(person_id)
        .bind(now())
        .bind(organisation_id)
        .bind(user_id)
        .bind(reason)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Lifts the restriction; `NotFound` when there was none (someone else lifted it first).
    pub async fn delete_restriction(&mut self, person_id: i64) -> Result<()> {
        crate::rows::found(
            sqlx::query("DELETE FROM person_restrictions WHERE person_id = $1")
                .bind(person_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }
}
