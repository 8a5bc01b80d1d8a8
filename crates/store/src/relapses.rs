//! Relapses as dated events of an intervention (migration 0022). Recording one adds one to the
//! intervention's relapse count in the same transaction, so the report's table 5 counts it.

use crate::rows::{date, date_text, found, now};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::relapse::NewRelapse;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RelapseRow {
    pub id: i64,
    pub intervention_id: i64,
    pub relapse_date: NaiveDate,
    pub substance: Option<String>,
    pub context: Option<String>,
    pub response: Option<String>,
    pub recorded_by_name: String,
    pub created_at: String,
}

impl<M: Mode> Tx<M> {
    /// An intervention's relapses, oldest first (the caller decides whether they are shown).
    pub async fn relapses_of(&mut self, intervention_id: i64) -> Result<Vec<RelapseRow>> {
        let rows = sqlx::query(
            "SELECT r.id, r.intervention_id, r.relapse_date, r.substance, r.context, r.response, \
             u.display_name AS recorded_by_name, r.created_at FROM relapses r JOIN users u ON u.id = r.recorded_by \
             WHERE r.intervention_id = $1 ORDER BY r.relapse_date, r.id",
        )
        .bind(intervention_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RelapseRow {
                    id: r.try_get("id")?,
                    intervention_id: r.try_get("intervention_id")?,
                    relapse_date: date(r, "relapse_date")?,
                    substance: r.try_get("substance")?,
                    context: r.try_get("context")?,
                    response: r.try_get("response")?,
                    recorded_by_name: r.try_get("recorded_by_name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// How many dated relapses an intervention has (its count can never go below this).
    pub async fn relapse_events(&mut self, intervention_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM relapses WHERE intervention_id = $1")
            .bind(intervention_id)
            .fetch_one(self.conn())
            .await?)
    }
}

impl Tx<Write> {
    /// Records a relapse and adds it to the intervention's count (and so to its report fact).
    pub async fn insert_relapse(
        &mut self,
        intervention_id: i64,
        person_id: i64,
        organisation_id: i64,
        r: &NewRelapse,
        user_id: i64,
    ) -> Result<i64> {
        self.mark_stale(intervention_id);
        let id = sqlx::query_scalar(
            "INSERT INTO relapses (intervention_id, person_id, organisation_id, relapse_date, substance, context, response, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(intervention_id)
        .bind(person_id)
        .bind(organisation_id)
        .bind(date_text(r.date))
        .bind(r.substance.map(|s| s.code()))
        .bind(r.context.as_deref())
        .bind(r.response.as_deref())
        .bind(user_id)
        .bind(now())
        .fetch_one(self.conn())
        .await?;
        found(
            sqlx::query("UPDATE interventions SET relapse_count = COALESCE(relapse_count, 0) + 1 WHERE id = $1")
                .bind(intervention_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        Ok(id)
    }
}
