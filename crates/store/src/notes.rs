//! Operator notes (migration 0022). Who reads a note is written once here, as SQL, next to
//! the person's visibility rule: the author alone, the writing organisation, or that
//! organisation and the person's care team.

use crate::rows::{contains_pattern, date, date_text, now};
use crate::scope::{scoped, Scope};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::note::NewNote;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteRow {
    pub id: i64,
    pub person_id: i64,
    pub person_code: String,
    /// Where the reader may see the person's identity.
    pub person_name: Option<String>,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub author_id: i64,
    pub author_name: String,
    pub note_date: NaiveDate,
    pub visibility: String,
    pub body: String,
    pub created_at: String,
}

/// True when the scope's user (`$2`, acting for `$1` on `$3`) may read note `n`.
const READABLE: &str = "((n.visibility = 'autore' AND n.author_id = $2 AND n.organisation_id = $1) \
    OR (n.visibility = 'ente' AND n.organisation_id = $1) \
    OR (n.visibility = 'equipe' AND (n.organisation_id = $1 OR EXISTS ( \
        SELECT 1 FROM care_team_members nt JOIN care_episodes ne ON ne.id = nt.episode_id \
        WHERE ne.person_id = n.person_id AND nt.user_id = $2 AND nt.removed_at IS NULL \
        AND (ne.end_date IS NULL OR ne.end_date >= $3)))))";

fn select(scope: &Scope) -> String {
    format!(
        "SELECT n.id, n.person_id, p.code AS person_code, {}, n.organisation_id, o.name AS organisation_name, \
         n.author_id, u.display_name AS author_name, n.note_date, n.visibility, n.body, n.created_at \
         FROM notes n JOIN persons p ON p.id = n.person_id JOIN organisations o ON o.id = n.organisation_id \
         JOIN users u ON u.id = n.author_id",
        scope.person_name("n.person_id")
    )
}

fn map(r: &AnyRow) -> Result<NoteRow> {
    Ok(NoteRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        person_code: r.try_get("person_code")?,
        person_name: r.try_get("person_name")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        author_id: r.try_get("author_id")?,
        author_name: r.try_get("author_name")?,
        note_date: date(r, "note_date")?,
        visibility: r.try_get("visibility")?,
        body: r.try_get("body")?,
        created_at: r.try_get("created_at")?,
    })
}

impl<M: Mode> Tx<M> {
    /// The notes of a visible person the scope's user may read, newest first, optionally
    /// those containing `q`.
    pub async fn notes_of_person(&mut self, scope: &Scope, person_id: i64, q: Option<&str>) -> Result<Vec<NoteRow>> {
        let sql = format!(
            "{} WHERE n.person_id = $4 AND {} AND {READABLE} AND ($5 = '' OR UPPER(n.body) LIKE $5) \
             ORDER BY n.note_date DESC, n.id DESC",
            select(scope),
            scope.visible("n.person_id")
        );
        let rows = scoped(&sql, scope).bind(person_id).bind(contains_pattern(q)).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// Notes containing `q` across every person the scope sees, newest first.
    pub async fn search_notes(&mut self, scope: &Scope, q: Option<&str>, limit: i64) -> Result<Vec<NoteRow>> {
        let sql = format!(
            "{} WHERE {} AND {READABLE} AND ($4 = '' OR UPPER(n.body) LIKE $4) AND {} \
             ORDER BY n.note_date DESC, n.id DESC LIMIT $5",
            select(scope),
            scope.visible("n.person_id"),
            crate::restrictions::unrestricted("n.person_id")
        );
        let rows = scoped(&sql, scope).bind(contains_pattern(q)).bind(limit).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }
}

impl Tx<Write> {
    pub async fn insert_note(
        &mut self,
        person_id: i64,
        organisation_id: i64,
        author_id: i64,
        n: &NewNote,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO notes (person_id, organisation_id, author_id, note_date, visibility, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(person_id)
        .bind(organisation_id)
        .bind(author_id)
        .bind(date_text(n.date))
        .bind(n.visibility.code())
        .bind(&n.body)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }
}
