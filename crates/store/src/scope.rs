//! The visibility rule of DOMAIN.md as SQL: an organisation sees a person while it has an
//! open care episode with them, or a consent in force covers it, or the acting user is on an
//! open episode's care team for that organisation. Queries embed this clause; nothing filters
//! rows in Rust after the fact.

use chrono::NaiveDate;

/// Who is looking, reduced to what the visibility rule needs.
#[derive(Debug, Clone)]
pub struct Scope {
    pub organisation_id: i64,
    pub user_id: i64,
    pub today: NaiveDate,
}

impl Scope {
    pub(crate) fn today_text(&self) -> String {
        crate::rows::date_text(self.today)
    }
}

/// SQL condition true when the person `person_expr` is visible; `o`, `u`, `d` are the
/// placeholder numbers bound to organisation id, user id and today's date.
pub(crate) fn visible(person_expr: &str, o: usize, u: usize, d: usize) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM care_episodes ve WHERE ve.person_id = {p} AND ve.organisation_id = ${o} \
            AND ve.start_date <= ${d} AND (ve.end_date IS NULL OR ve.end_date >= ${d})) \
         OR EXISTS (SELECT 1 FROM consents vc WHERE vc.person_id = {p} AND vc.organisation_id = ${o} \
            AND vc.revoked_at IS NULL AND vc.start_date <= ${d} AND (vc.expiry_date IS NULL OR vc.expiry_date >= ${d})) \
         OR EXISTS (SELECT 1 FROM care_team_members vt JOIN care_episodes vte ON vte.id = vt.episode_id \
            WHERE vte.person_id = {p} AND vt.user_id = ${u} AND vt.organisation_id = ${o} AND vt.removed_at IS NULL \
            AND (vte.end_date IS NULL OR vte.end_date >= ${d})))",
        p = person_expr
    )
}

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A query whose placeholders `$1`, `$2`, `$3` are the scope's organisation, user and day,
/// as [`visible`] expects them; further parameters start at `$4`.
pub(crate) fn scoped<'q>(sql: &'q str, scope: &Scope) -> AnyQuery<'q> {
    sqlx::query(sql).bind(scope.organisation_id).bind(scope.user_id).bind(scope.today_text())
}
