//! Access and orientation records (migration 0022): the organisation's first contacts with a
//! person, each a ground of visibility for 90 days (`scope::GROUNDS`).

use crate::rows::{date, date_text, now};
use crate::scope::{scoped, Scope};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::access::NewAccess;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessRow {
    pub id: i64,
    pub access_date: NaiveDate,
    pub channel: String,
    /// Service codes separated by commas.
    pub services: String,
    pub outcome: String,
    pub oriented_to_name: Option<String>,
    pub note: Option<String>,
    pub visible_until: NaiveDate,
    pub recorded_by_name: String,
}

impl<M: Mode> Tx<M> {
    /// The accesses the scope's organisation recorded for a person it sees, newest first.
    pub async fn accesses_of_person(&mut self, scope: &Scope, person_id: i64) -> Result<Vec<AccessRow>> {
        let sql = format!(
            "SELECT a.id, a.access_date, a.channel, a.services, a.outcome, o.name AS oriented_to_name, a.note, a.visible_until, \
             u.display_name AS recorded_by_name FROM accesses a LEFT JOIN organisations o ON o.id = a.oriented_to \
             JOIN users u ON u.id = a.recorded_by WHERE a.person_id = $4 AND a.organisation_id = $1 AND {} \
             ORDER BY a.access_date DESC, a.id DESC",
            scope.visible("a.person_id")
        );
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter()
            .map(|r| {
                Ok(AccessRow {
                    id: r.try_get("id")?,
                    access_date: date(r, "access_date")?,
                    channel: r.try_get("channel")?,
                    services: r.try_get("services")?,
                    outcome: r.try_get("outcome")?,
                    oriented_to_name: r.try_get("oriented_to_name")?,
                    note: r.try_get("note")?,
                    visible_until: date(r, "visible_until")?,
                    recorded_by_name: r.try_get("recorded_by_name")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    pub async fn insert_access(
        &mut self,
        person_id: i64,
        organisation_id: i64,
        a: &NewAccess,
        user_id: i64,
    ) -> Result<i64> {
        let services = a.services.iter().map(|s| s.code()).collect::<Vec<_>>().join(",");
        Ok(sqlx::query_scalar(
            "INSERT INTO accesses (person_id, organisation_id, access_date, channel, services, outcome, oriented_to, note, visible_until, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(person_id)
        .bind(organisation_id)
        .bind(date_text(a.date))
        .bind(a.channel.code())
        .bind(services)
        .bind(a.outcome.code())
        .bind(a.oriented_to)
        .bind(a.note.as_deref())
        .bind(date_text(a.visible_until))
        .bind(user_id)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }
}
