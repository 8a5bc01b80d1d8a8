//! Personalised projects: the project row, its immutable versions and its reviews. Who may see
//! a project is decided by the person's visibility (the caller checks it first).

use crate::rows::{date, date_text, now, opt_date};
use crate::scope::{scoped, Owners, Scope};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectRow {
    pub id: i64,
    pub person_id: i64,
    pub person_code: String,
    /// "Surname Name" where the reader may see the person's identity (`Scope::names`).
    pub person_name: Option<String>,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub case_manager_id: i64,
    pub case_manager_name: String,
    pub current_version: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub next_review: NaiveDate,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectVersionRow {
    pub version: i64,
    /// The plan as JSON (`percorsi_domain::project::Plan`).
    pub content: String,
    pub reason: String,
    pub author_name: String,
    pub author_org_name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectReviewRow {
    pub id: i64,
    pub version: i64,
    pub review_date: NaiveDate,
    /// The review as JSON (`percorsi_domain::project::Review`).
    pub content: String,
    pub author_name: String,
    pub created_at: String,
}

/// What a new project or version writes.
pub struct ProjectWrite<'a> {
    pub content: &'a str,
    pub reason: &'a str,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub next_review: NaiveDate,
    pub author_id: i64,
    pub author_org: i64,
}

/// The project columns with `name_column` (a `person_name` expression: the scope's rule, or
/// NULL where no reader's scope applies).
fn select(name_column: &str) -> String {
    format!(
        "SELECT pr.id, pr.person_id, p.code AS person_code, {name_column}, pr.organisation_id, o.name AS organisation_name, \
         pr.case_manager_id, u.display_name AS case_manager_name, pr.current_version, pr.start_date, pr.end_date, pr.next_review, \
         pr.updated_at FROM projects pr JOIN persons p ON p.id = pr.person_id JOIN organisations o ON o.id = pr.organisation_id \
         JOIN users u ON u.id = pr.case_manager_id"
    )
}

fn map_project(r: &AnyRow) -> Result<ProjectRow> {
    Ok(ProjectRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        person_code: r.try_get("person_code")?,
        person_name: r.try_get("person_name")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        case_manager_id: r.try_get("case_manager_id")?,
        case_manager_name: r.try_get("case_manager_name")?,
        current_version: r.try_get("current_version")?,
        start_date: date(r, "start_date")?,
        end_date: date(r, "end_date")?,
        next_review: date(r, "next_review")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl<M: Mode> Tx<M> {
    /// A project whose person the scope sees.
    pub async fn project_visible(&mut self, scope: &Scope, id: i64) -> Result<Option<ProjectRow>> {
        let sql = format!(
            "{} WHERE pr.id = $4 AND {}",
            select(&scope.person_name("pr.person_id")),
            scope.visible("pr.person_id")
        );
        let r = scoped(&sql, scope).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_project).transpose()
    }

    pub async fn projects_of_person(
        &mut self,
        scope: &Scope,
        person_id: i64,
        owners: Owners,
    ) -> Result<Vec<ProjectRow>> {
        let sql = format!(
            "{} WHERE pr.person_id = $4 AND {} AND {} ORDER BY pr.start_date DESC, pr.id DESC",
            select(&scope.person_name("pr.person_id")),
            scope.visible("pr.person_id"),
            owners.clause("pr.organisation_id")
        );
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map_project).collect()
    }

    /// Every project of a person, for the person's own page (their account is the grant).
    pub async fn projects_of(&mut self, person_id: i64) -> Result<Vec<ProjectRow>> {
        let sql = format!(
            "{} WHERE pr.person_id = $1 ORDER BY pr.start_date DESC, pr.id DESC",
            select("NULL AS person_name")
        );
        let rows = sqlx::query(&sql).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map_project).collect()
    }

    /// Projects of the scope's organisation whose next review falls on or before `until`.
    pub async fn projects_due(&mut self, scope: &Scope, until: NaiveDate) -> Result<Vec<ProjectRow>> {
        let sql = format!(
            "{} WHERE pr.organisation_id = $1 AND pr.next_review <= $4 AND pr.end_date >= $3 AND {} AND {} ORDER BY pr.next_review",
            select(&scope.person_name("pr.person_id")),
            scope.visible("pr.person_id"),
            crate::restrictions::unrestricted("pr.person_id")
        );
        let rows = scoped(&sql, scope).bind(date_text(until)).fetch_all(self.conn()).await?;
        rows.iter().map(map_project).collect()
    }

    /// The organisation's projects in force with their current content and latest review
    /// (content and date), for the agenda.
    pub async fn projects_in_force(
        &mut self,
        scope: &Scope,
    ) -> Result<Vec<(ProjectRow, String, Option<(NaiveDate, String)>)>> {
        // One query: the current version's content and the latest review come along as columns.
        let with = select(&scope.person_name("pr.person_id")).replacen(
            "SELECT ",
            "SELECT v.content AS plan_content, \
             (SELECT r.review_date FROM project_reviews r WHERE r.project_id = pr.id ORDER BY r.review_date DESC, r.id DESC LIMIT 1) AS last_review_date, \
             (SELECT r.content FROM project_reviews r WHERE r.project_id = pr.id ORDER BY r.review_date DESC, r.id DESC LIMIT 1) AS last_review_content, ",
            1,
        );
        let sql = format!(
            "{with} JOIN project_versions v ON v.project_id = pr.id AND v.version = pr.current_version \
             WHERE pr.organisation_id = $1 AND pr.end_date >= $3 AND {} AND {} ORDER BY pr.next_review",
            scope.visible("pr.person_id"),
            crate::restrictions::unrestricted("pr.person_id")
        );
        let rows = scoped(&sql, scope).fetch_all(self.conn()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let last = match opt_date(r, "last_review_date")? {
                Some(d) => Some((d, r.try_get("last_review_content")?)),
                None => None,
            };
            out.push((map_project(r)?, r.try_get("plan_content")?, last));
        }
        Ok(out)
    }

    pub async fn project_versions(&mut self, id: i64) -> Result<Vec<ProjectVersionRow>> {
        let rows = sqlx::query(
            "SELECT v.version, v.content, v.reason, u.display_name AS author_name, o.name AS author_org_name, v.created_at \
             FROM project_versions v JOIN users u ON u.id = v.author_id JOIN organisations o ON o.id = v.author_org \
             WHERE v.project_id = $1 ORDER BY v.version",
        )
        .bind(id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProjectVersionRow {
                    version: r.try_get("version")?,
                    content: r.try_get("content")?,
                    reason: r.try_get("reason")?,
                    author_name: r.try_get("author_name")?,
                    author_org_name: r.try_get("author_org_name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn project_reviews(&mut self, id: i64) -> Result<Vec<ProjectReviewRow>> {
        let rows = sqlx::query(
            "SELECT r.id, r.version, r.review_date, r.content, u.display_name AS author_name, r.created_at \
             FROM project_reviews r JOIN users u ON u.id = r.author_id WHERE r.project_id = $1 ORDER BY r.review_date, r.id",
        )
        .bind(id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProjectReviewRow {
                    id: r.try_get("id")?,
                    version: r.try_get("version")?,
                    review_date: date(r, "review_date")?,
                    content: r.try_get("content")?,
                    author_name: r.try_get("author_name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    pub async fn insert_project(&mut self, person_id: i64, case_manager_id: i64, w: &ProjectWrite<'_>) -> Result<i64> {
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO projects (person_id, organisation_id, case_manager_id, current_version, start_date, end_date, next_review, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(person_id)
        .bind(w.author_org)
        .bind(case_manager_id)
        .bind(date_text(w.start))
        .bind(date_text(w.end))
        .bind(date_text(w.next_review))
        .bind(&at)
        .fetch_one(self.conn())
        .await?;
        self.insert_project_version(id, 1, w, &at).await?;
        Ok(id)
    }

    async fn insert_project_version(&mut self, id: i64, version: i64, w: &ProjectWrite<'_>, at: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO project_versions (project_id, version, content, reason, author_id, author_org, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(version)
        .bind(w.content)
        .bind(w.reason)
        .bind(w.author_id)
        .bind(w.author_org)
        .bind(at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A new version of a project; returns its number.
    pub async fn add_project_version(&mut self, id: i64, w: &ProjectWrite<'_>) -> Result<i64> {
        let at = now();
        let version: i64 = sqlx::query_scalar(
            "UPDATE projects SET current_version = current_version + 1, start_date = $1, end_date = $2, next_review = $3, \
             updated_at = $4 WHERE id = $5 RETURNING current_version",
        )
        .bind(date_text(w.start))
        .bind(date_text(w.end))
        .bind(date_text(w.next_review))
        .bind(&at)
        .bind(id)
        .fetch_one(self.conn())
        .await?;
        self.insert_project_version(id, version, w, &at).await?;
        Ok(version)
    }

    /// A review of version `version`; `dates` are the review's and the next one's.
    pub async fn add_project_review(
        &mut self,
        id: i64,
        version: i64,
        (review_date, next_review): (NaiveDate, NaiveDate),
        content: &str,
        (author_id, author_org): (i64, i64),
    ) -> Result<i64> {
        let at = now();
        sqlx::query("UPDATE projects SET next_review = $1, updated_at = $2 WHERE id = $3")
            .bind(date_text(next_review))
            .bind(&at)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO project_reviews (project_id, version, review_date, content, author_id, author_org, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(id)
        .bind(version)
        .bind(date_text(review_date))
        .bind(content)
        .bind(author_id)
        .bind(author_org)
        .bind(&at)
        .fetch_one(self.conn())
        .await?)
    }
}

/// A progress report on one objective.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgressRow {
    pub id: i64,
    /// Position of the objective (0-based).
    pub objective: i64,
    pub version: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub author_name: String,
    pub status: String,
    pub note: Option<String>,
    pub at: String,
}

pub struct ProgressWrite<'a> {
    pub project_id: i64,
    pub objective: i64,
    pub version: i64,
    pub organisation_id: i64,
    pub user_id: i64,
    pub status: &'a str,
    pub note: Option<&'a str>,
}

impl<M: Mode> Tx<M> {
    /// Every progress report of a project, oldest first.
    pub async fn objective_progress(&mut self, project_id: i64) -> Result<Vec<ProgressRow>> {
        let rows = sqlx::query(
            "SELECT g.id, g.objective, g.version, g.organisation_id, o.name AS organisation_name, \
             u.display_name AS author_name, g.status, g.note, g.at FROM objective_progress g \
             JOIN organisations o ON o.id = g.organisation_id JOIN users u ON u.id = g.user_id \
             WHERE g.project_id = $1 ORDER BY g.objective, g.id",
        )
        .bind(project_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProgressRow {
                    id: r.try_get("id")?,
                    objective: r.try_get("objective")?,
                    version: r.try_get("version")?,
                    organisation_id: r.try_get("organisation_id")?,
                    organisation_name: r.try_get("organisation_name")?,
                    author_name: r.try_get("author_name")?,
                    status: r.try_get("status")?,
                    note: r.try_get("note")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    pub async fn insert_objective_progress(&mut self, p: &ProgressWrite<'_>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO objective_progress (project_id, objective, version, organisation_id, user_id, status, note, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(p.project_id)
        .bind(p.objective)
        .bind(p.version)
        .bind(p.organisation_id)
        .bind(p.user_id)
        .bind(p.status)
        .bind(p.note)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }
}
