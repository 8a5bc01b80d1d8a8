use crate::rows::{date, date_text, now};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct InstrumentRecord {
    pub id: i64,
    pub code: String,
    pub version: i64,
    pub kind: String,
    pub definition: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentRow {
    pub id: i64,
    pub intervention_id: i64,
    pub instrument_id: i64,
    pub kind: String,
    pub assessed_on: NaiveDate,
    /// JSON: item code → score.
    pub answers: String,
    /// JSON: the section scores computed when it was saved.
    pub scores: String,
    pub author_name: String,
    pub updated_at: String,
}

/// A filled form to store; answers and scores are already JSON.
pub struct AssessmentWrite<'a> {
    pub intervention_id: i64,
    pub instrument_id: i64,
    pub kind: &'a str,
    pub assessed_on: NaiveDate,
    pub answers: &'a str,
    pub scores: &'a str,
    pub author_id: i64,
    pub author_org: i64,
}

const INSTRUMENT: &str = "SELECT id, code, version, kind, definition FROM instruments";

fn map_instrument(r: &sqlx::any::AnyRow) -> Result<InstrumentRecord> {
    Ok(InstrumentRecord {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        version: r.try_get("version")?,
        kind: r.try_get("kind")?,
        definition: r.try_get("definition")?,
    })
}

impl<M: Mode> Tx<M> {
    /// The newest version of the instrument for a kind of form.
    pub async fn latest_instrument(&mut self, kind: &str) -> Result<Option<InstrumentRecord>> {
        let r = sqlx::query(&format!("{INSTRUMENT} WHERE kind = $1 ORDER BY version DESC, id DESC LIMIT 1"))
            .bind(kind)
            .fetch_optional(self.conn())
            .await?;
        r.as_ref().map(map_instrument).transpose()
    }

    pub async fn instrument(&mut self, id: i64) -> Result<Option<InstrumentRecord>> {
        let r = sqlx::query(&format!("{INSTRUMENT} WHERE id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_instrument).transpose()
    }

    pub async fn instruments(&mut self) -> Result<Vec<InstrumentRecord>> {
        let rows = sqlx::query(&format!("{INSTRUMENT} ORDER BY kind, version")).fetch_all(self.conn()).await?;
        rows.iter().map(map_instrument).collect()
    }

    pub async fn assessments_of(&mut self, intervention_id: i64) -> Result<Vec<AssessmentRow>> {
        let rows = sqlx::query(
            "SELECT a.id, a.intervention_id, a.instrument_id, a.kind, a.assessed_on, a.answers, a.scores, u.display_name AS author_name, a.updated_at \
             FROM assessments a JOIN users u ON u.id = a.author_id WHERE a.intervention_id = $1 ORDER BY a.kind DESC",
        )
        .bind(intervention_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AssessmentRow {
                    id: r.try_get("id")?,
                    intervention_id: r.try_get("intervention_id")?,
                    instrument_id: r.try_get("instrument_id")?,
                    kind: r.try_get("kind")?,
                    assessed_on: date(r, "assessed_on")?,
                    answers: r.try_get("answers")?,
                    scores: r.try_get("scores")?,
                    author_name: r.try_get("author_name")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    /// Stores an instrument version; a version already loaded is left as it is (returns `None`).
    pub async fn insert_instrument(
        &mut self,
        code: &str,
        version: i64,
        kind: &str,
        definition: &str,
    ) -> Result<Option<i64>> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM instruments WHERE code = $1 AND version = $2")
            .bind(code)
            .bind(version)
            .fetch_optional(self.conn())
            .await?;
        if exists.is_some() {
            return Ok(None);
        }
        Ok(Some(
            sqlx::query_scalar("INSERT INTO instruments (code, version, kind, definition, loaded_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(code)
                .bind(version)
                .bind(kind)
                .bind(definition)
                .bind(now())
                .fetch_one(self.conn())
                .await?,
        ))
    }

    /// Saves a filled form; filling the same kind again for the intervention updates it in
    /// place and keeps the instrument version it was first filled with.
    pub async fn upsert_assessment(&mut self, a: &AssessmentWrite<'_>) -> Result<i64> {
        self.mark_stale(a.intervention_id);
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM assessments WHERE intervention_id = $1 AND kind = $2")
                .bind(a.intervention_id)
                .bind(a.kind)
                .fetch_optional(self.conn())
                .await?;
        if let Some(id) = existing {
            sqlx::query("UPDATE assessments SET assessed_on = $1, answers = $2, scores = $3, author_id = $4, author_org = $5, updated_at = $6 WHERE id = $7")
                .bind(date_text(a.assessed_on))
                .bind(a.answers)
                .bind(a.scores)
                .bind(a.author_id)
                .bind(a.author_org)
                .bind(now())
                .bind(id)
                .execute(self.conn())
                .await?;
            return Ok(id);
        }
        Ok(sqlx::query_scalar(
            "INSERT INTO assessments (intervention_id, instrument_id, kind, assessed_on, answers, scores, author_id, author_org, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(a.intervention_id)
        .bind(a.instrument_id)
        .bind(a.kind)
        .bind(date_text(a.assessed_on))
        .bind(a.answers)
        .bind(a.scores)
        .bind(a.author_id)
        .bind(a.author_org)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }
}
