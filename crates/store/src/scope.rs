//! The visibility rule of DOMAIN.md as SQL: an organisation sees a person while it has an
//! open care episode with them, or a consent in force covers it, or the acting user is on an
//! open episode's care team for that organisation, or the acting user opened the record with
//! break-the-glass and the grant is still in force. Queries embed this clause; nothing filters
//! rows in Rust after the fact. Which of the person's rows (those of other organisations) and
//! fields a visible person shows is the policy's `PersonAccess` (ADR 0003).

use chrono::NaiveDate;

/// Who is looking, reduced to what the visibility rule needs.
#[derive(Debug, Clone)]
pub struct Scope {
    pub organisation_id: i64,
    pub user_id: i64,
    pub today: NaiveDate,
    /// People this user opened with break-the-glass, acting in this organisation, whose grant
    /// is still in force (loaded with the session).
    pub glass: Vec<i64>,
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

impl Scope {
    /// Break-the-glass grants as a list of integer literals (ids from the database, never input).
    fn glass_ids(&self) -> Option<String> {
        (!self.glass.is_empty()).then(|| self.glass.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
    }

    /// SQL condition true when the person `person_expr` is visible (for lookups of one record).
    pub(crate) fn visible(&self, person_expr: &str) -> String {
        let mut parts: Vec<String> = GROUNDS
            .iter()
            .map(|(from, cond, col)| format!("EXISTS (SELECT 1 FROM {from} WHERE {col} = {person_expr} AND {cond})"))
            .collect();
        if let Some(ids) = self.glass_ids() {
            parts.push(format!("{person_expr} IN ({ids})"));
        }
        format!("({})", parts.join(" OR "))
    }

    /// SQL subquery of the ids of every visible person (for lists: driven by the organisation's
    /// own episodes and consents instead of testing every person of the installation).
    pub(crate) fn visible_set(&self) -> String {
        let mut parts: Vec<String> = GROUNDS
            .iter()
            .map(|(from, cond, col)| format!("SELECT {col} AS person_id FROM {from} WHERE {cond}"))
            .collect();
        if let Some(ids) = self.glass_ids() {
            parts.push(format!("SELECT id AS person_id FROM persons WHERE id IN ({ids})"));
        }
        format!("({})", parts.join(" UNION "))
    }
}

/// Whose rows of a person a query returns: those the organisation wrote, and those of other
/// organisations only when the policy says the person's consent (or an emergency access) opens
/// them for this kind of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owners {
    pub organisation_id: i64,
    pub others: bool,
}

impl Owners {
    /// SQL condition on the owning organisation's column (an integer literal, never input).
    pub(crate) fn clause(&self, column: &str) -> String {
        if self.others {
            "1 = 1".to_string()
        } else {
            format!("{column} = {}", self.organisation_id)
        }
    }
}

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A query whose placeholders `$1`, `$2`, `$3` are the scope's organisation, user and day,
/// as [`visible`] and [`visible_set`] expect them; further parameters start at `$4`.
pub(crate) fn scoped<'q>(sql: &'q str, scope: &Scope) -> AnyQuery<'q> {
    sqlx::query(sql).bind(scope.organisation_id).bind(scope.user_id).bind(scope.today_text())
}
