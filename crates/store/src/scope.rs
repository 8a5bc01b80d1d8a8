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

/// The three grounds of visibility, each as (tables, condition, person column), over the
/// placeholders `$1` organisation, `$2` user, `$3` today. [`visible`] and [`visible_set`] are both
/// built from this list, so the rule is written once.
const GROUNDS: [(&str, &str, &str); 3] = [
    // An open care episode of the organisation.
    ("care_episodes ve", "ve.organisation_id = $1 AND ve.start_date <= $3 AND (ve.end_date IS NULL OR ve.end_date >= $3)", "ve.person_id"),
    // A consent in force naming the organisation.
    (
        "consents vc",
        "vc.organisation_id = $1 AND vc.revoked_at IS NULL AND vc.start_date <= $3 AND (vc.expiry_date IS NULL OR vc.expiry_date >= $3)",
        "vc.person_id",
    ),
    // The acting user on an open episode's care team, for this organisation.
    (
        "care_team_members vt JOIN care_episodes vte ON vte.id = vt.episode_id",
        "vt.user_id = $2 AND vt.organisation_id = $1 AND vt.removed_at IS NULL AND (vte.end_date IS NULL OR vte.end_date >= $3)",
        "vte.person_id",
    ),
];

/// SQL condition true when the person `person_expr` is visible (for lookups of one record).
pub(crate) fn visible(person_expr: &str) -> String {
    let parts: Vec<String> = GROUNDS
        .iter()
        .map(|(from, cond, col)| format!("EXISTS (SELECT 1 FROM {from} WHERE {col} = {person_expr} AND {cond})"))
        .collect();
    format!("({})", parts.join(" OR "))
}

/// SQL subquery of the ids of every visible person (for lists: driven by the organisation's
/// own episodes and consents instead of testing every person of the installation).
pub(crate) fn visible_set() -> String {
    let parts: Vec<String> =
        GROUNDS.iter().map(|(from, cond, col)| format!("SELECT {col} AS person_id FROM {from} WHERE {cond}")).collect();
    format!("({})", parts.join(" UNION "))
}

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A query whose placeholders `$1`, `$2`, `$3` are the scope's organisation, user and day,
/// as [`visible`] and [`visible_set`] expect them; further parameters start at `$4`.
pub(crate) fn scoped<'q>(sql: &'q str, scope: &Scope) -> AnyQuery<'q> {
    sqlx::query(sql).bind(scope.organisation_id).bind(scope.user_id).bind(scope.today_text())
}
