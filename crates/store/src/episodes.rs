use crate::rows::{bool_col, date, date_text, found, now, opt_date};
use crate::scope::{scoped, Owners, Scope};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::episode::{EpisodeClose, EpisodeUpdate, NewEpisode};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EpisodeRow {
    pub id: i64,
    pub person_id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub organisation_kind: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub closure: Option<String>,
    pub case_manager_id: i64,
    pub case_manager_name: String,
    pub substance_start: Option<String>,
    pub substance_current: Option<String>,
    pub treatment_in_progress: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamMemberRow {
    pub id: i64,
    pub episode_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub function: String,
    pub added_at: String,
    pub removed_at: Option<String>,
}

const EPISODE: &str = "SELECT e.id, e.person_id, e.organisation_id, o.name AS organisation_name, o.kind AS organisation_kind, \
                       e.start_date, e.end_date, e.closure, e.case_manager_id, u.display_name AS case_manager_name, \
                       e.substance_start, e.substance_current, e.treatment_in_progress \
                       FROM care_episodes e JOIN organisations o ON o.id = e.organisation_id JOIN users u ON u.id = e.case_manager_id";

fn map_episode(r: &AnyRow) -> Result<EpisodeRow> {
    Ok(EpisodeRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        organisation_kind: r.try_get("organisation_kind")?,
        start_date: date(r, "start_date")?,
        end_date: opt_date(r, "end_date")?,
        closure: r.try_get("closure")?,
        case_manager_id: r.try_get("case_manager_id")?,
        case_manager_name: r.try_get("case_manager_name")?,
        substance_start: r.try_get("substance_start")?,
        substance_current: r.try_get("substance_current")?,
        treatment_in_progress: bool_col(r, "treatment_in_progress")?,
    })
}

impl<M: Mode> Tx<M> {
    /// Whether the organisation already has an open episode with the person.
    /// Whether another organisation than this one has the person in care now.
    pub async fn in_care_elsewhere(&mut self, person_id: i64, organisation_id: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM care_episodes WHERE person_id = $1 AND organisation_id <> $2 AND end_date IS NULL",
        )
        .bind(person_id)
        .bind(organisation_id)
        .fetch_one(self.conn())
        .await?;
        Ok(n > 0)
    }

    pub async fn open_episode_exists(&mut self, person_id: i64, organisation_id: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM care_episodes WHERE person_id = $1 AND organisation_id = $2 AND end_date IS NULL",
        )
        .bind(person_id)
        .bind(organisation_id)
        .fetch_one(self.conn())
        .await?;
        Ok(n > 0)
    }

    /// Episodes of a person visible to the scope: the organisation's own, and the others'
    /// when `owners` opens them.
    pub async fn episodes_of_person(
        &mut self,
        scope: &Scope,
        person_id: i64,
        owners: Owners,
    ) -> Result<Vec<EpisodeRow>> {
        let sql = format!(
            "{EPISODE} WHERE e.person_id = $4 AND {} AND {} ORDER BY e.start_date DESC, e.id DESC",
            scope.visible("e.person_id"),
            owners.clause("e.organisation_id")
        );
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map_episode).collect()
    }

    /// One episode by id, for a decision already authorised by other means (a transfer
    /// addressed to the organisation).
    pub async fn episode(&mut self, id: i64) -> Result<Option<EpisodeRow>> {
        let r = sqlx::query(&format!("{EPISODE} WHERE e.id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_episode).transpose()
    }

    pub async fn episode_visible(&mut self, scope: &Scope, id: i64) -> Result<Option<EpisodeRow>> {
        let sql = format!("{EPISODE} WHERE e.id = $4 AND {}", scope.visible("e.person_id"));
        let r = scoped(&sql, scope).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_episode).transpose()
    }

    pub async fn team_of_person(
        &mut self,
        scope: &Scope,
        person_id: i64,
        owners: Owners,
    ) -> Result<Vec<TeamMemberRow>> {
        let sql = format!(
            "SELECT t.id, t.episode_id, t.user_id, u.display_name AS user_name, t.organisation_id, o.name AS organisation_name, \
             t.function, t.added_at, t.removed_at FROM care_team_members t JOIN care_episodes e ON e.id = t.episode_id \
             JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = t.organisation_id \
             WHERE e.person_id = $4 AND {} AND {} ORDER BY t.removed_at IS NOT NULL, o.name, u.display_name",
            scope.visible("e.person_id"),
            owners.clause("e.organisation_id")
        );
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter()
            .map(|r| {
                Ok(TeamMemberRow {
                    id: r.try_get("id")?,
                    episode_id: r.try_get("episode_id")?,
                    user_id: r.try_get("user_id")?,
                    user_name: r.try_get("user_name")?,
                    organisation_id: r.try_get("organisation_id")?,
                    organisation_name: r.try_get("organisation_name")?,
                    function: r.try_get("function")?,
                    added_at: r.try_get("added_at")?,
                    removed_at: r.try_get("removed_at")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    pub async fn insert_episode(&mut self, person_id: i64, organisation_id: i64, e: &NewEpisode) -> Result<i64> {
        self.mark_person_stale(person_id);
        let id = sqlx::query_scalar(
            "INSERT INTO care_episodes (person_id, organisation_id, start_date, case_manager_id, substance_start, substance_current, treatment_in_progress, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(person_id)
        .bind(organisation_id)
        .bind(date_text(e.start_date))
        .bind(e.case_manager_id)
        .bind(e.substance_start.map(|s| s.code()))
        .bind(e.substance_current.map(|s| s.code()))
        .bind(e.treatment_in_progress)
        .bind(now())
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    pub async fn close_episode(&mut self, id: i64, c: &EpisodeClose) -> Result<()> {
        found(
            sqlx::query("UPDATE care_episodes SET end_date = $1, closure = $2 WHERE id = $3 AND end_date IS NULL")
                .bind(date_text(c.end_date))
                .bind(c.closure.code())
                .bind(id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        Ok(())
    }

    pub async fn update_episode(&mut self, id: i64, u: &EpisodeUpdate) -> Result<()> {
        let person: Option<i64> = sqlx::query_scalar("SELECT person_id FROM care_episodes WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        if let Some(person) = person {
            self.mark_person_stale(person);
        }
        found(sqlx::query("UPDATE care_episodes SET substance_current = $1, treatment_in_progress = $2 WHERE id = $3 AND end_date IS NULL")
            .bind(u.substance_current.map(|s| s.code()))
            .bind(u.treatment_in_progress)
            .bind(id)
            .execute(self.conn())
            .await?
            .rows_affected())?;
        Ok(())
    }

    pub async fn insert_team_member(
        &mut self,
        episode_id: i64,
        user_id: i64,
        organisation_id: i64,
        function: &str,
    ) -> Result<i64> {
        let id = sqlx::query_scalar("INSERT INTO care_team_members (episode_id, user_id, organisation_id, function, added_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(episode_id)
            .bind(user_id)
            .bind(organisation_id)
            .bind(function)
            .bind(now())
            .fetch_one(self.conn())
            .await?;
        Ok(id)
    }

    pub async fn remove_team_member(&mut self, episode_id: i64, member_id: i64) -> Result<()> {
        found(
            sqlx::query(
                "UPDATE care_team_members SET removed_at = $1 WHERE id = $2 AND episode_id = $3 AND removed_at IS NULL",
            )
            .bind(now())
            .bind(member_id)
            .bind(episode_id)
            .execute(self.conn())
            .await?
            .rows_affected(),
        )?;
        Ok(())
    }
}
