//! Percorsi storage: the only crate with SQL. One schema, two engines (SQLite embedded by
//! default, PostgreSQL for scale-out), reached through sqlx's `Any` driver with portable SQL.

mod accesses;
mod assessments;
mod audit;
mod bulk_exports;
mod checkpoints;
mod consents;
mod coordination;
mod deliveries;
mod derived;
mod documents;
mod engine;
mod episodes;
mod error;
mod facts;
mod glass;
mod group_commit;
mod imports;
mod interventions;
mod migrate;
mod notes;
mod opportunities;
mod organisations;
mod person_access;
mod persons;
mod programmes;
mod projects;
mod referrals;
mod relapses;
mod restrictions;
mod retention;
mod rows;
mod schema;
mod scope;
mod second_factor;
mod sessions;
mod transfers;
mod users;

pub use accesses::AccessRow;
pub use assessments::{AssessmentRow, AssessmentWrite, InstrumentRecord};
pub use audit::{AuditFilter, AuditRow};
pub use bulk_exports::{BulkExport, BulkFile};
pub use checkpoints::Checkpoint;
pub use consents::ConsentRow;
pub use coordination::{AssessmentInsert, GroupRow, MeetingRow, NetworkCounts, PersonAssessmentRow};
pub use deliveries::{Delivery, DeliveryLogRow, DigestRecipient, MailPreferencesRow, WebhookRow};
pub use derived::{derive_fact, Assessed};
pub use documents::{DocumentInsert, DocumentRow};
pub use episodes::{EpisodeRow, TeamMemberRow};
pub use facts::{ExtractLine, FactSource, FactsSince, ImportedResults, KnownPerson, Value};
pub use glass::{GlassRow, Grounds};
pub use imports::ImportCounts;
pub use interventions::{
    AttendanceRow, EventRow, InterventionInsert, InterventionRow, InterventionSummary, PaymentRow, TutorInterventionRow,
};
pub use notes::NoteRow;
pub use opportunities::{OpportunityRow, PlacementRow};
pub use organisations::OrganisationRow;
pub use person_access::{InvitationRow, SelfAssessmentRow};
pub use persons::{IdentityRow, PersonRow, PersonSummary, Rectified};
pub use programmes::{ParticipantRow, ProgrammeRow, QuotaRow, RuleRow};
pub use projects::{ProgressRow, ProgressWrite, ProjectReviewRow, ProjectRow, ProjectVersionRow, ProjectWrite};
pub use referrals::{NotificationRow, ReferralInsert, ReferralRow};
pub use relapses::RelapseRow;
pub use restrictions::RestrictionRow;
pub use retention::Expired;
pub use schema::SchemaFacts;
pub use scope::{Owners, Scope};
pub use second_factor::{OidcPending, TotpState};
pub use sessions::{ApiTokenListing, NewSession, OwnSession, SessionRow};
pub use transfers::{TransferInsert, TransferRow};
pub use users::{MembershipRow, UserRow};

pub use engine::{Backend, Mode, Read, Store, StoreOptions, Tx, Write, DEFAULT_WAIT};
pub use error::{StoreError, Unavailable};

pub type Result<T> = std::result::Result<T, StoreError>;

/// Hides the password part of a database URL in messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

impl<M: Mode> Tx<M> {
    /// Row counts of the main tables, for operators' metrics.
    pub async fn totals(&mut self) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for (kind, table) in [
            ("person", "persons"),
            ("care_episode", "care_episodes"),
            ("consent", "consents"),
            ("intervention", "interventions"),
            ("ledger_entry", "ledger_entries"),
            ("assessment", "assessments"),
            ("audit_entry", "audit_log"),
            ("session", "sessions"),
        ] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(self.conn()).await?;
            out.push((kind, n));
        }
        Ok(out)
    }

    /// What an administrator looks after: organisations, and accounts active and disabled
    /// (people's own accounts are not theirs to manage and are not counted).
    pub async fn account_totals(&mut self) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for (kind, sql) in [
            ("organisations", "SELECT COUNT(*) FROM organisations"),
            ("users_active", "SELECT COUNT(*) FROM users u WHERE u.active = TRUE AND NOT EXISTS (SELECT 1 FROM person_accounts a WHERE a.user_id = u.id)"),
            ("users_disabled", "SELECT COUNT(*) FROM users u WHERE u.active = FALSE AND NOT EXISTS (SELECT 1 FROM person_accounts a WHERE a.user_id = u.id)"),
        ] {
            out.push((kind, sqlx::query_scalar(sql).fetch_one(self.conn()).await?));
        }
        Ok(out)
    }
}

/// Executes one raw statement outside any use case. For maintenance and for tests that play
/// an attacker with direct database access; never called by the application.
pub async fn raw_execute(store: &Store, sql: &str) -> Result<u64> {
    Ok(sqlx::query(sql).execute(store.writer_pool()).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_credentials() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://***@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
