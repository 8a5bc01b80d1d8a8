//! The opportunities catalogue and placements.

use crate::rows::{date, date_text, now, opt_date};
use crate::scope::Owners;
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::opportunity::{NewOpportunity, NewPlacement};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpportunityRow {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub kind: String,
    pub axis: String,
    pub title: String,
    pub description: Option<String>,
    pub territory: String,
    pub capacity: i64,
    /// Places not taken by a placement in progress.
    pub available: i64,
    pub housing_kind: Option<String>,
    pub support_intensity: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub province: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub url: Option<String>,
    pub schedule: Option<String>,
    pub eligibility: Option<String>,
    /// ISO 639-1 codes.
    pub languages: Vec<String>,
    /// The identifier an imported directory gave it.
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlacementRow {
    pub id: i64,
    pub opportunity_id: i64,
    pub opportunity_title: String,
    pub opportunity_kind: String,
    pub person_id: i64,
    pub person_code: String,
    pub organisation_id: i64,
    pub project_id: Option<i64>,
    pub objective: Option<i64>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub end_reason: Option<String>,
}

const SELECT: &str = "SELECT o.id, o.organisation_id, g.name AS organisation_name, o.kind, o.axis, o.title, o.description, \
    o.territory, o.capacity, o.capacity - (SELECT COUNT(*) FROM placements pl WHERE pl.opportunity_id = o.id AND pl.end_date IS NULL) AS available, \
    o.housing_kind, o.support_intensity, o.address, o.city, o.postal_code, o.province, o.phone, o.email, o.url, \
    o.schedule, o.eligibility, o.languages, o.external_id FROM opportunities o JOIN organisations g ON g.id = o.organisation_id";

fn map(r: &AnyRow) -> Result<OpportunityRow> {
    Ok(OpportunityRow {
        id: r.try_get("id")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        kind: r.try_get("kind")?,
        axis: r.try_get("axis")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        territory: r.try_get("territory")?,
        capacity: r.try_get("capacity")?,
        available: r.try_get("available")?,
        housing_kind: r.try_get("housing_kind")?,
        support_intensity: r.try_get("support_intensity")?,
        address: r.try_get("address")?,
        city: r.try_get("city")?,
        postal_code: r.try_get("postal_code")?,
        province: r.try_get("province")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
        url: r.try_get("url")?,
        schedule: r.try_get("schedule")?,
        eligibility: r.try_get("eligibility")?,
        languages: r
            .try_get::<Option<String>, _>("languages")?
            .map(|l| l.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
        external_id: r.try_get("external_id")?,
    })
}

const PLACEMENT: &str =
    "SELECT pl.id, pl.opportunity_id, o.title AS opportunity_title, o.kind AS opportunity_kind, pl.person_id, \
    p.code AS person_code, pl.organisation_id, pl.project_id, pl.objective, pl.start_date, pl.end_date, pl.end_reason \
    FROM placements pl JOIN opportunities o ON o.id = pl.opportunity_id JOIN persons p ON p.id = pl.person_id";

fn map_placement(r: &AnyRow) -> Result<PlacementRow> {
    Ok(PlacementRow {
        id: r.try_get("id")?,
        opportunity_id: r.try_get("opportunity_id")?,
        opportunity_title: r.try_get("opportunity_title")?,
        opportunity_kind: r.try_get("opportunity_kind")?,
        person_id: r.try_get("person_id")?,
        person_code: r.try_get("person_code")?,
        organisation_id: r.try_get("organisation_id")?,
        project_id: r.try_get("project_id")?,
        objective: r.try_get("objective")?,
        start_date: date(r, "start_date")?,
        end_date: opt_date(r, "end_date")?,
        end_reason: r.try_get("end_reason")?,
    })
}

impl<M: Mode> Tx<M> {
    /// The catalogue, optionally narrowed by territory (exact), axis and kind.
    pub async fn opportunities(
        &mut self,
        territory: Option<&str>,
        axis: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<OpportunityRow>> {
        let sql = format!(
            "{SELECT} WHERE ($1 IS NULL OR o.territory = $1) AND ($2 IS NULL OR o.axis = $2) AND ($3 IS NULL OR o.kind = $3) \
             ORDER BY o.territory, o.title"
        );
        let rows = sqlx::query(&sql).bind(territory).bind(axis).bind(kind).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    pub async fn opportunity(&mut self, id: i64) -> Result<Option<OpportunityRow>> {
        let r = sqlx::query(&format!("{SELECT} WHERE o.id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map).transpose()
    }

    pub async fn placement(&mut self, id: i64) -> Result<Option<PlacementRow>> {
        let r = sqlx::query(&format!("{PLACEMENT} WHERE pl.id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_placement).transpose()
    }

    /// Every territory named in the catalogue, in order.
    pub async fn opportunity_territories(&mut self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT territory FROM opportunities ORDER BY territory")
            .fetch_all(self.conn())
            .await?)
    }

    pub async fn placements_of_person(&mut self, person_id: i64, owners: Owners) -> Result<Vec<PlacementRow>> {
        let rows = sqlx::query(&format!(
            "{PLACEMENT} WHERE pl.person_id = $1 AND {} ORDER BY pl.start_date DESC",
            owners.clause("pl.organisation_id")
        ))
        .bind(person_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(map_placement).collect()
    }
}

impl Tx<Write> {
    pub async fn insert_opportunity(&mut self, org: i64, o: &NewOpportunity) -> Result<i64> {
        Ok(self.save_opportunity(org, o, None).await?.0)
    }

    /// Inserts an opportunity, or — with the identifier an imported directory gave it —
    /// updates the one imported before under that identifier. True when it was inserted.
    pub async fn save_opportunity(
        &mut self,
        org: i64,
        o: &NewOpportunity,
        external_id: Option<&str>,
    ) -> Result<(i64, bool)> {
        let d = &o.directory;
        let languages = (!d.languages.is_empty()).then(|| d.languages.join(","));
        let existing: Option<i64> = match external_id {
            Some(ext) => {
                sqlx::query_scalar("SELECT id FROM opportunities WHERE organisation_id = $1 AND external_id = $2")
                    .bind(org)
                    .bind(ext)
                    .fetch_optional(self.conn())
                    .await?
            }
            None => None,
        };
        let sql = match existing {
            Some(_) => {
                "UPDATE opportunities SET kind = $2, axis = $3, title = $4, description = $5, territory = $6, capacity = $7, \
                 housing_kind = $8, support_intensity = $9, address = $11, city = $12, postal_code = $13, province = $14, \
                 phone = $15, email = $16, url = $17, schedule = $18, eligibility = $19, languages = $20 \
                 WHERE organisation_id = $1 AND external_id = $21 AND $10 = $10 RETURNING id"
                // (reads every parameter the INSERT binds: `$10`, the creation time, is compared with itself)
            }
            None => {
                "INSERT INTO opportunities (organisation_id, kind, axis, title, description, territory, capacity, housing_kind, \
                 support_intensity, created_at, address, city, postal_code, province, phone, email, url, schedule, eligibility, \
                 languages, external_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id"
            }
        };
        let id: i64 = sqlx::query_scalar(sql)
            .bind(org)
            .bind(o.kind.code())
            .bind(o.axis.code())
            .bind(&o.title)
            .bind(&o.description)
            .bind(&o.territory)
            .bind(o.capacity)
            .bind(o.housing.map(|(h, _)| h.code()))
            .bind(o.housing.map(|(_, s)| s.code()))
            .bind(now())
            .bind(&d.address)
            .bind(&d.city)
            .bind(&d.postal_code)
            .bind(&d.province)
            .bind(&d.phone)
            .bind(&d.email)
            .bind(&d.url)
            .bind(&d.schedule)
            .bind(&d.eligibility)
            .bind(languages)
            .bind(external_id)
            .fetch_one(self.conn())
            .await?;
        Ok((id, existing.is_none()))
    }

    pub async fn insert_placement(&mut self, opportunity: i64, org: i64, p: &NewPlacement, user: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO placements (opportunity_id, person_id, organisation_id, project_id, objective, start_date, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(opportunity)
        .bind(p.person_id)
        .bind(org)
        .bind(p.project.map(|(id, _)| id))
        .bind(p.project.map(|(_, o)| o))
        .bind(date_text(p.start))
        .bind(user)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }

    pub async fn end_placement(&mut self, id: i64, end: NaiveDate, reason: &str) -> Result<()> {
        sqlx::query("UPDATE placements SET end_date = $1, end_reason = $2 WHERE id = $3 AND end_date IS NULL")
            .bind(date_text(end))
            .bind(reason)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
