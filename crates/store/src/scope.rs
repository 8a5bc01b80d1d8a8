//! The visibility rule of DOMAIN.md as SQL: an organisation sees a person while it has an
//! open care episode with them, or a consent in force covers it, or the acting user is on an
//! open episode's care team for that organisation, or it recorded the person's access in the
//! last 90 days, or the acting user opened the record with break-the-glass and the grant is
//! still in force. Queries embed this clause; nothing filters
//! rows in Rust after the fact. Which of the person's rows (those of other organisations) and
//! fields a visible person shows is the policy's `PersonAccess` (ADR 0003).

use chrono::NaiveDate;
use percorsi_domain::codes::ConsentPurpose;
use percorsi_domain::consent::DataCategory;

/// Who is looking, reduced to what the visibility rule needs.
#[derive(Debug, Clone)]
pub struct Scope {
    pub organisation_id: i64,
    pub user_id: i64,
    pub today: NaiveDate,
    /// People this user opened with break-the-glass, acting in this organisation, whose grant
    /// is still in force (loaded with the session).
    pub glass: Vec<i64>,
    /// The acting role may see identities at all (case managers, operators). Whether it sees a
    /// given person's is [`Scope::names`]'s rule.
    pub identity: bool,
}

impl Scope {
    pub(crate) fn today_text(&self) -> String {
        crate::rows::date_text(self.today)
    }
}

/// The grounds of visibility, each as (tables, condition, person column), over the
/// placeholders `$1` organisation, `$2` user, `$3` today. [`visible`] and [`visible_set`] are both
/// built from this list, so the rule is written once.
const GROUNDS: [(&str, &str, &str); 4] = [
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
    // An access (first contact, orientation) the organisation recorded, for 90 days.
    ("accesses va", "va.organisation_id = $1 AND va.access_date <= $3 AND va.visible_until >= $3", "va.person_id"),
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

    /// SQL condition true when the person's identity (name) is shown to this scope: the role
    /// sees identities, and the organisation has the person in charge, the user is on the care
    /// team, the record was opened with break-the-glass, or a consent in force has a purpose
    /// that covers identity (DOMAIN.md; the same rule as the policy's `PersonAccess::sees`). A
    /// consent for monitoring alone makes the person visible but never their name.
    pub(crate) fn identity_visible(&self, person_expr: &str) -> String {
        if !self.identity {
            return "1 = 0".to_string();
        }
        let purposes = ConsentPurpose::ALL
            .iter()
            .filter(|p| p.categories().contains(&DataCategory::Identity))
            .map(|p| format!("'{}'", p.code()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut parts: Vec<String> = GROUNDS
            .iter()
            .map(|(from, cond, col)| {
                let purpose = if from.starts_with("consents ") {
                    format!(" AND vc.purpose IN ({purposes})")
                } else {
                    String::new()
                };
                format!("EXISTS (SELECT 1 FROM {from} WHERE {col} = {person_expr} AND {cond}{purpose})")
            })
            .collect();
        if let Some(ids) = self.glass_ids() {
            parts.push(format!("{person_expr} IN ({ids})"));
        }
        format!("({})", parts.join(" OR "))
    }

    /// SQL columns `surname` and `name` of `identities` (an alias of `person_identities` joined
    /// on the person), NULL where [`Scope::identity_visible`] does not hold. Every list and
    /// record that names people selects them through here, so no query decides alone.
    pub(crate) fn names(&self, person_expr: &str, identities: &str) -> String {
        self.shown_names(person_expr, |field| format!("{identities}.{field}"))
    }

    /// The same columns as [`Scope::names`], each looked up by key in a subquery instead of
    /// from a joined table (for PostgreSQL, whose planner would hash the whole table to join).
    pub(crate) fn names_looked_up(&self, person_expr: &str) -> String {
        self.shown_names(person_expr, |field| {
            format!("(SELECT ni.{field} FROM person_identities ni WHERE ni.person_id = {person_expr})")
        })
    }

    /// `surname` and `name`, each taken from `value(field)` where the identity is shown.
    fn shown_names(&self, person_expr: &str, value: impl Fn(&str) -> String) -> String {
        let cond = self.identity_visible(person_expr);
        format!(
            "CASE WHEN {cond} THEN {} END AS surname, CASE WHEN {cond} THEN {} END AS name",
            value("surname"),
            value("name")
        )
    }

    /// SQL column `person_name` ("Surname Name"), NULL where the identity is not shown to this
    /// scope (anonymous people have none).
    pub(crate) fn person_name(&self, person_expr: &str) -> String {
        format!(
            "CASE WHEN {} THEN (SELECT ni.surname || ' ' || ni.name FROM person_identities ni WHERE ni.person_id = {person_expr}) END AS person_name",
            self.identity_visible(person_expr)
        )
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
