//! Multidimensional assessments of people, coordination groups and their meetings, and the
//! counts of the network dashboard.

use crate::rows::{date, date_text, now};
use crate::scope::Owners;
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonAssessmentRow {
    pub id: i64,
    pub assessed_on: NaiveDate,
    /// Section scores as JSON (`SectionScore` list).
    pub scores: String,
    pub user_class: String,
    pub organisation_name: String,
    pub author_name: String,
    /// The household as JSON (`percorsi_domain::household::Household`), when assessed.
    pub household: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub territory: Option<String>,
    /// Member organisations' names, comma separated.
    pub members: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeetingRow {
    pub id: i64,
    pub meeting_date: NaiveDate,
    pub minutes: String,
    pub author_name: String,
}

/// One organisation's line of the network dashboard.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct NetworkCounts {
    pub organisation_id: i64,
    pub in_care: i64,
    pub active_projects: i64,
    pub open_referrals: i64,
    /// Sum of the days the open referrals received have been waiting.
    pub waiting_days: i64,
    pub active_placements: i64,
}

pub struct AssessmentInsert<'a> {
    pub person_id: i64,
    pub organisation_id: i64,
    pub instrument_id: i64,
    pub assessed_on: NaiveDate,
    pub answers: &'a str,
    pub scores: &'a str,
    pub user_class: &'a str,
    pub author_id: i64,
    /// JSON, when the household was assessed.
    pub household: Option<&'a str>,
}

impl<M: Mode> Tx<M> {
    /// The date of the person's latest multidimensional assessment by anyone in the network
    /// (for the eligibility of a work insertion: only its date is used, nothing of it shown).
    pub async fn latest_assessment_date(&mut self, person_id: i64) -> Result<Option<NaiveDate>> {
        let d: Option<String> =
            sqlx::query_scalar("SELECT MAX(assessed_on) FROM person_assessments WHERE person_id = $1")
                .bind(person_id)
                .fetch_one(self.conn())
                .await?;
        Ok(d.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
    }

    pub async fn person_assessments(&mut self, person_id: i64, owners: Owners) -> Result<Vec<PersonAssessmentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT a.id, a.assessed_on, a.scores, a.user_class, a.household, o.name AS organisation_name, u.display_name AS author_name \
             FROM person_assessments a JOIN organisations o ON o.id = a.organisation_id JOIN users u ON u.id = a.author_id \
             WHERE a.person_id = $1 AND {} ORDER BY a.assessed_on, a.id",
            owners.clause("a.organisation_id")
        ))
        .bind(person_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PersonAssessmentRow {
                    id: r.try_get("id")?,
                    assessed_on: date(r, "assessed_on")?,
                    scores: r.try_get("scores")?,
                    user_class: r.try_get("user_class")?,
                    organisation_name: r.try_get("organisation_name")?,
                    author_name: r.try_get("author_name")?,
                    household: r.try_get("household")?,
                })
            })
            .collect()
    }

    pub async fn groups(&mut self) -> Result<Vec<GroupRow>> {
        let rows = sqlx::query("SELECT id, name, territory FROM coordination_groups ORDER BY name")
            .fetch_all(self.conn())
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT o.name FROM group_members m JOIN organisations o ON o.id = m.organisation_id WHERE m.group_id = $1 ORDER BY o.name",
            )
            .bind(id)
            .fetch_all(self.conn())
            .await?;
            out.push(GroupRow {
                id,
                name: r.try_get("name")?,
                territory: r.try_get("territory")?,
                members: names.join(", "),
            });
        }
        Ok(out)
    }

    pub async fn is_group_member(&mut self, group: i64, org: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM group_members WHERE group_id = $1 AND organisation_id = $2",
        )
        .bind(group)
        .bind(org)
        .fetch_one(self.conn())
        .await?;
        Ok(n > 0)
    }

    pub async fn meetings(&mut self, group: i64) -> Result<Vec<MeetingRow>> {
        let rows = sqlx::query(
            "SELECT m.id, m.meeting_date, m.minutes, u.display_name AS author_name FROM group_meetings m JOIN users u ON u.id = m.author_id \
             WHERE m.group_id = $1 ORDER BY m.meeting_date DESC",
        )
        .bind(group)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MeetingRow {
                    id: r.try_get("id")?,
                    meeting_date: date(r, "meeting_date")?,
                    minutes: r.try_get("minutes")?,
                    author_name: r.try_get("author_name")?,
                })
            })
            .collect()
    }

    /// Objectives of projects in force, by axis (from each project's current version), and
    /// placements in progress, by the axis of their opportunity.
    pub async fn supports_by_axis(&mut self, today: NaiveDate) -> Result<(Vec<String>, Vec<String>)> {
        let contents: Vec<String> = sqlx::query_scalar(
            "SELECT v.content FROM projects p JOIN project_versions v ON v.project_id = p.id AND v.version = p.current_version \
             WHERE p.end_date >= $1",
        )
        .bind(date_text(today))
        .fetch_all(self.conn())
        .await?;
        let placements: Vec<String> = sqlx::query_scalar(
            "SELECT o.axis FROM placements pl JOIN opportunities o ON o.id = pl.opportunity_id WHERE pl.end_date IS NULL",
        )
        .fetch_all(self.conn())
        .await?;
        Ok((contents, placements))
    }

    /// Every project's current plan with the last status reported on each of its objectives:
    /// (plan JSON, [(objective index, status)]).
    pub async fn plans_with_progress(&mut self) -> Result<Vec<(String, Vec<(i64, String)>)>> {
        let plans = sqlx::query(
            "SELECT p.id, v.content FROM projects p JOIN project_versions v ON v.project_id = p.id AND v.version = p.current_version \
             ORDER BY p.id",
        )
        .fetch_all(self.conn())
        .await?;
        let progress = sqlx::query("SELECT project_id, objective, status FROM objective_progress ORDER BY at, id")
            .fetch_all(self.conn())
            .await?;
        let mut last: std::collections::BTreeMap<(i64, i64), String> = std::collections::BTreeMap::new();
        for r in &progress {
            last.insert((r.try_get("project_id")?, r.try_get("objective")?), r.try_get("status")?);
        }
        plans
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let reported = last.range((id, i64::MIN)..=(id, i64::MAX)).map(|((_, o), s)| (*o, s.clone())).collect();
                Ok((r.try_get("content")?, reported))
            })
            .collect()
    }

    /// People with an open care episode: their user class (the latest assessment's, else the
    /// registry's) and the plans of their projects in force.
    pub async fn people_in_care_with_plans(&mut self, today: NaiveDate) -> Result<Vec<(Option<String>, Vec<String>)>> {
        let mut people: std::collections::BTreeMap<i64, (Option<String>, Vec<String>)> =
            std::collections::BTreeMap::new();
        let rows = sqlx::query(
            "SELECT DISTINCT e.person_id, p.user_class FROM care_episodes e JOIN persons p ON p.id = e.person_id \
             WHERE e.end_date IS NULL",
        )
        .fetch_all(self.conn())
        .await?;
        for r in &rows {
            people.insert(r.try_get("person_id")?, (r.try_get("user_class")?, Vec::new()));
        }
        let assessed = sqlx::query("SELECT person_id, user_class FROM person_assessments ORDER BY assessed_on, id")
            .fetch_all(self.conn())
            .await?;
        for r in &assessed {
            if let Some(p) = people.get_mut(&r.try_get::<i64, _>("person_id")?) {
                p.0 = Some(r.try_get("user_class")?);
            }
        }
        let plans = sqlx::query(
            "SELECT p.person_id, v.content FROM projects p JOIN project_versions v ON v.project_id = p.id \
             AND v.version = p.current_version WHERE p.end_date >= $1",
        )
        .bind(date_text(today))
        .fetch_all(self.conn())
        .await?;
        for r in &plans {
            if let Some(p) = people.get_mut(&r.try_get::<i64, _>("person_id")?) {
                p.1.push(r.try_get("content")?);
            }
        }
        Ok(people.into_values().collect())
    }

    /// Every placement's axis, start and end (the end `None` while it goes on).
    pub async fn placement_spans(&mut self) -> Result<Vec<(String, NaiveDate, Option<NaiveDate>)>> {
        let rows = sqlx::query(
            "SELECT o.axis, pl.start_date, pl.end_date FROM placements pl JOIN opportunities o ON o.id = pl.opportunity_id",
        )
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                let start = crate::rows::opt_date(r, "start_date")?
                    .ok_or_else(|| crate::StoreError::Corrupt("placement without start".into()))?;
                Ok((r.try_get("axis")?, start, crate::rows::opt_date(r, "end_date")?))
            })
            .collect()
    }

    /// Per organisation: people with an open care episode, projects in force, open referrals
    /// received (and how long they have waited), placements in progress.
    pub async fn network_counts(&mut self, today: NaiveDate) -> Result<Vec<NetworkCounts>> {
        let mut by_org: std::collections::BTreeMap<i64, NetworkCounts> = std::collections::BTreeMap::new();
        let day = date_text(today);
        let queries: [(&str, usize); 4] = [
            ("SELECT organisation_id AS org, CAST(COUNT(DISTINCT person_id) AS BIGINT) AS n FROM care_episodes WHERE end_date IS NULL GROUP BY organisation_id", 0),
            ("SELECT organisation_id AS org, CAST(COUNT(*) AS BIGINT) AS n FROM projects WHERE end_date >= $1 GROUP BY organisation_id", 1),
            ("SELECT to_org AS org, CAST(COUNT(*) AS BIGINT) AS n FROM referrals WHERE status = 'aperta' GROUP BY to_org", 2),
            ("SELECT organisation_id AS org, CAST(COUNT(*) AS BIGINT) AS n FROM placements WHERE end_date IS NULL GROUP BY organisation_id", 3),
        ];
        for (sql, slot) in queries {
            let q = sqlx::query(sql);
            let q = if sql.contains("$1") { q.bind(day.clone()) } else { q };
            for r in q.fetch_all(self.conn()).await? {
                let org: i64 = r.try_get("org")?;
                let n: i64 = r.try_get("n")?;
                let e =
                    by_org.entry(org).or_insert_with(|| NetworkCounts { organisation_id: org, ..Default::default() });
                match slot {
                    0 => e.in_care = n,
                    1 => e.active_projects = n,
                    2 => e.open_referrals = n,
                    _ => e.active_placements = n,
                }
            }
        }
        let open: Vec<(i64, String)> = sqlx::query("SELECT to_org, created_at FROM referrals WHERE status = 'aperta'")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("to_org")?, r.try_get("created_at")?)))
            .collect::<Result<_>>()?;
        for (org, at) in open {
            let since = NaiveDate::parse_from_str(at.get(..10).unwrap_or(""), "%Y-%m-%d").unwrap_or(today);
            if let Some(e) = by_org.get_mut(&org) {
                e.waiting_days += (today - since).num_days().max(0);
            }
        }
        Ok(by_org.into_values().collect())
    }
}

impl Tx<Write> {
    pub async fn insert_person_assessment(&mut self, a: &AssessmentInsert<'_>) -> Result<i64> {
        sqlx::query("UPDATE persons SET user_class = $1 WHERE id = $2")
            .bind(a.user_class)
            .bind(a.person_id)
            .execute(self.conn())
            .await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO person_assessments (person_id, organisation_id, instrument_id, assessed_on, answers, scores, user_class, author_id, created_at, household) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(a.person_id)
        .bind(a.organisation_id)
        .bind(a.instrument_id)
        .bind(date_text(a.assessed_on))
        .bind(a.answers)
        .bind(a.scores)
        .bind(a.user_class)
        .bind(a.author_id)
        .bind(now())
        .bind(a.household)
        .fetch_one(self.conn())
        .await?)
    }

    pub async fn insert_group(
        &mut self,
        name: &str,
        territory: Option<&str>,
        members: &[i64],
        user: i64,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar("INSERT INTO coordination_groups (name, territory, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(name)
            .bind(territory)
            .bind(user)
            .bind(now())
            .fetch_one(self.conn())
            .await?;
        for m in members {
            sqlx::query("INSERT INTO group_members (group_id, organisation_id) VALUES ($1, $2)")
                .bind(id)
                .bind(m)
                .execute(self.conn())
                .await?;
        }
        Ok(id)
    }

    pub async fn insert_meeting(&mut self, group: i64, day: NaiveDate, minutes: &str, user: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("INSERT INTO group_meetings (group_id, meeting_date, minutes, author_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(group)
            .bind(date_text(day))
            .bind(minutes)
            .bind(user)
            .bind(now())
            .fetch_one(self.conn())
            .await?)
    }
}
