use crate::engine::Backend;
use crate::restrictions::unrestricted;
use crate::rows::{bool_col, date, date_text, now};
use crate::scope::{scoped, Scope};
use crate::{Mode, Result, Tx, Write};
use chrono::{Datelike, NaiveDate};
use percorsi_domain::person::{Contacts, Identity, Profile};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// The pseudonymous record: never contains identity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonRow {
    pub id: i64,
    pub code: String,
    pub anonymous: bool,
    pub birth_year: Option<i64>,
    pub sex: Option<String>,
    pub citizenship: Option<String>,
    pub education: Option<String>,
    pub work_history: Option<String>,
    pub living_situation: Option<String>,
    pub user_class: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdentityRow {
    pub surname: String,
    pub name: String,
    pub fiscal_code: Option<String>,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// A rectified identity and the codes before and after it.
pub struct Rectified<'a> {
    pub old_code: &'a str,
    pub new_code: &'a str,
    pub surname: &'a str,
    pub name: &'a str,
    pub fiscal_code: Option<&'a str>,
    pub birth_date: NaiveDate,
    pub sex: &'a str,
}

/// A line of a person list. `surname`/`name` are filled only when the caller asked for identity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonSummary {
    pub id: i64,
    pub code: String,
    pub anonymous: bool,
    pub surname: Option<String>,
    pub name: Option<String>,
    pub birth_year: Option<i64>,
    pub sex: Option<String>,
    pub episode_start: Option<String>,
}

const PERSON: &str =
    "SELECT p.id, p.code, p.anonymous, p.birth_year, p.sex, p.citizenship, p.education, p.work_history, \
                      p.living_situation, p.user_class, p.created_at FROM persons p";

fn map_person(r: &AnyRow) -> Result<PersonRow> {
    Ok(PersonRow {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        anonymous: bool_col(r, "anonymous")?,
        birth_year: r.try_get("birth_year")?,
        sex: r.try_get("sex")?,
        citizenship: r.try_get("citizenship")?,
        education: r.try_get("education")?,
        work_history: r.try_get("work_history")?,
        living_situation: r.try_get("living_situation")?,
        user_class: r.try_get("user_class")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(crate) fn map_summary(r: &AnyRow) -> Result<PersonSummary> {
    Ok(PersonSummary {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        anonymous: bool_col(r, "anonymous")?,
        surname: r.try_get("surname")?,
        name: r.try_get("name")?,
        birth_year: r.try_get("birth_year")?,
        sex: r.try_get("sex")?,
        episode_start: r.try_get("episode_start")?,
    })
}

impl<M: Mode> Tx<M> {
    /// Existence of a code anywhere in the installation: the "già noto" check. Returns the id only,
    /// which callers must not reveal unless the person is visible to the actor.
    /// The person a code names: their current code, or one they had before a rectification.
    pub async fn person_id_by_code(&mut self, code: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM persons WHERE code = $1 UNION SELECT person_id FROM person_code_aliases WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(self.conn())
        .await?)
    }

    /// One person's pseudonymous record, by id alone: for the person's own page, where their
    /// account is the grant.
    pub async fn person(&mut self, id: i64) -> Result<Option<PersonRow>> {
        let sql = format!("{PERSON} WHERE p.id = $1");
        let r = sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_person).transpose()
    }

    pub async fn person_visible(&mut self, scope: &Scope, id: i64) -> Result<Option<PersonRow>> {
        let sql = format!("{PERSON} WHERE p.id = $4 AND {}", scope.visible("p.id"));
        let r = scoped(&sql, scope).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_person).transpose()
    }

    pub async fn identity_visible(&mut self, scope: &Scope, person_id: i64) -> Result<Option<IdentityRow>> {
        let sql = format!(
            "SELECT i.surname, i.name, i.fiscal_code, i.birth_date, i.phone, i.email, i.address FROM person_identities i \
             WHERE i.person_id = $4 AND {}",
            scope.visible("i.person_id")
        );
        let r = scoped(&sql, scope).bind(person_id).fetch_optional(self.conn()).await?;
        r.map(|r| {
            Ok(IdentityRow {
                surname: r.try_get("surname")?,
                name: r.try_get("name")?,
                fiscal_code: r.try_get("fiscal_code")?,
                birth_date: date(&r, "birth_date")?,
                phone: r.try_get("phone")?,
                email: r.try_get("email")?,
                address: r.try_get("address")?,
            })
        })
        .transpose()
    }

    /// Persons visible to the scope, optionally filtered by code or, where their identity is
    /// shown, by name or fiscal code (a name never finds a person whose name is hidden, and
    /// hidden names do not order the list).
    pub async fn persons_visible(
        &mut self,
        scope: &Scope,
        search: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PersonSummary>> {
        // The text comparison first: the visibility rule's subqueries then run only for the
        // few people whose name matches, not for every visible person.
        let names_like = "(UPPER(i.surname) LIKE $4 OR UPPER(i.name) LIKE $4 OR UPPER(i.fiscal_code) LIKE $4)";
        let (names, identities, name_match) = match self.backend {
            // SQLite looks each visible person's identity up by key either way; joining it once
            // is the cheapest.
            Backend::Sqlite => (
                scope.names("p.id", "i"),
                "LEFT JOIN person_identities i ON i.person_id = p.id",
                format!("({names_like} AND {})", scope.identity_visible("p.id")),
            ),
            // PostgreSQL's planner joins a few hundred visible people to every identity by
            // hashing the whole table (measured: 9 ms a search at 50,000 people); lookups by key
            // in subqueries it cannot turn into a join (under an OR, in the select list) take 3.
            Backend::Postgres => (
                scope.names_looked_up("p.id"),
                "",
                format!(
                    "(EXISTS (SELECT 1 FROM person_identities i WHERE i.person_id = p.id AND {names_like}) AND {})",
                    scope.identity_visible("p.id")
                ),
            ),
        };
        let sql = format!(
            "SELECT p.id, p.code, p.anonymous, {names}, p.birth_year, p.sex, \
               (SELECT MIN(e.start_date) FROM care_episodes e WHERE e.person_id = p.id AND e.organisation_id = $1 AND e.end_date IS NULL) AS episode_start \
             FROM {} v JOIN persons p ON p.id = v.person_id {identities} \
             WHERE ($4 = '' OR p.code LIKE $4 OR {name_match}) AND {} \
             ORDER BY surname, name, p.code LIMIT $5",
            scope.visible_set(),
            unrestricted("p.id")
        );
        let rows =
            scoped(&sql, scope).bind(crate::rows::contains_pattern(search)).bind(limit).fetch_all(self.conn()).await?;
        rows.iter().map(map_summary).collect()
    }

    /// The case manager's own people: open episodes they manage in this organisation, or
    /// open episodes whose team they are on.
    pub async fn persons_followed(&mut self, scope: &Scope) -> Result<Vec<PersonSummary>> {
        // Two indexed paths (episodes they manage, teams they sit on) instead of one OR that
        // would scan every episode.
        let sql = format!("SELECT p.id, p.code, p.anonymous, {}, p.birth_year, p.sex, f.episode_start \
             FROM (SELECT person_id, MIN(start_date) AS episode_start FROM ( \
                     SELECT e.person_id, e.start_date FROM care_episodes e \
                     WHERE e.case_manager_id = $2 AND e.organisation_id = $1 AND e.end_date IS NULL AND e.start_date <= $3 \
                     UNION ALL \
                     SELECT e.person_id, e.start_date FROM care_team_members t JOIN care_episodes e ON e.id = t.episode_id \
                     WHERE t.user_id = $2 AND t.organisation_id = $1 AND t.removed_at IS NULL AND e.end_date IS NULL AND e.start_date <= $3 \
                   ) mine GROUP BY person_id) f \
             JOIN persons p ON p.id = f.person_id LEFT JOIN person_identities i ON i.person_id = p.id \
             WHERE {} ORDER BY surname, name, p.code", scope.names("p.id", "i"), unrestricted("p.id"));
        let rows = scoped(&sql, scope).fetch_all(self.conn()).await?;
        rows.iter().map(map_summary).collect()
    }

    pub async fn count_persons(&mut self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM persons").fetch_one(self.conn()).await?)
    }
}

impl Tx<Write> {
    pub async fn insert_person(
        &mut self,
        code: &str,
        anonymous: bool,
        p: &Profile,
        organisation_id: i64,
    ) -> Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO persons (code, anonymous, birth_year, sex, citizenship, education, work_history, living_situation, user_class, created_at, created_by_org) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(code)
        .bind(anonymous)
        .bind(p.birth_year.map(i64::from))
        .bind(p.sex.map(|s| s.code()))
        .bind(&p.citizenship)
        .bind(p.education.map(|s| s.code()))
        .bind(p.work_history.map(|s| s.code()))
        .bind(p.living_situation.map(|s| s.code()))
        .bind(p.user_class.map(|s| s.code()))
        .bind(now())
        .bind(organisation_id)
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    pub async fn insert_identity(&mut self, person_id: i64, i: &Identity) -> Result<()> {
        sqlx::query(
            "INSERT INTO person_identities (person_id, surname, name, fiscal_code, birth_date, phone, email, address, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(person_id)
        .bind(&i.surname)
        .bind(&i.name)
        .bind(&i.fiscal_code)
        .bind(date_text(i.birth_date))
        .bind(&i.phone)
        .bind(&i.email)
        .bind(&i.address)
        .bind(now())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Corrects the profile (not birth year and sex, which come from the code's basis).
    /// Corrects the identity fields that define the code, gives the person the new code and
    /// keeps the old one as an alias (both in this transaction). The report facts follow
    /// (sex and age class come from here).
    pub async fn rectify_identity(&mut self, person_id: i64, c: &Rectified<'_>) -> Result<()> {
        self.mark_person_stale(person_id);
        let now = now();
        if c.old_code != c.new_code {
            sqlx::query("DELETE FROM person_code_aliases WHERE code = $1 AND person_id = $2")
                .bind(c.new_code)
                .bind(person_id)
                .execute(self.conn())
                .await?;
            sqlx::query("INSERT INTO person_code_aliases (code, person_id, replaced_at) VALUES ($1, $2, $3)")
                .bind(c.old_code)
                .bind(person_id)
                .bind(&now)
                .execute(self.conn())
                .await?;
        }
        crate::rows::found(
            sqlx::query("UPDATE persons SET code = $1, sex = $2, birth_year = $3 WHERE id = $4")
                .bind(c.new_code)
                .bind(c.sex)
                .bind(i64::from(c.birth_date.year()))
                .bind(person_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        crate::rows::found(
            sqlx::query(
                "UPDATE person_identities SET surname = $1, name = $2, fiscal_code = $3, birth_date = $4, updated_at = $5 \
                 WHERE person_id = $6",
            )
            .bind(c.surname)
            .bind(c.name)
            .bind(c.fiscal_code)
            .bind(date_text(c.birth_date))
            .bind(&now)
            .bind(person_id)
            .execute(self.conn())
            .await?
            .rows_affected(),
        )
    }

    pub async fn update_profile(&mut self, person_id: i64, p: &Profile) -> Result<()> {
        self.mark_person_stale(person_id);
        crate::rows::found(
            sqlx::query("UPDATE persons SET citizenship = $1, education = $2, work_history = $3, living_situation = $4, user_class = $5 WHERE id = $6")
                .bind(&p.citizenship)
                .bind(p.education.map(|s| s.code()))
                .bind(p.work_history.map(|s| s.code()))
                .bind(p.living_situation.map(|s| s.code()))
                .bind(p.user_class.map(|s| s.code()))
                .bind(person_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    /// Corrects contacts; a person without identity (anonymous) has none to correct.
    pub async fn update_contacts(&mut self, person_id: i64, c: &Contacts) -> Result<()> {
        sqlx::query(
            "UPDATE person_identities SET phone = $1, email = $2, address = $3, updated_at = $4 WHERE person_id = $5",
        )
        .bind(&c.phone)
        .bind(&c.email)
        .bind(&c.address)
        .bind(now())
        .bind(person_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
