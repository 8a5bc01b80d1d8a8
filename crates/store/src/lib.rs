//! Percorsi storage: the only crate with SQL. One schema, two engines (SQLite embedded by
//! default, PostgreSQL for scale-out), reached through sqlx's `Any` driver with portable SQL.

mod assessments;
mod audit;
mod consents;
mod coordination;
mod episodes;
mod facts;
mod interventions;
mod migrate;
mod opportunities;
mod organisations;
mod persons;
mod programmes;
mod projects;
mod referrals;
mod rows;
mod scope;
mod sessions;
mod users;

pub use assessments::{AssessmentRow, AssessmentWrite, InstrumentRecord};
pub use audit::AuditRow;
pub use consents::ConsentRow;
pub use coordination::{AssessmentInsert, GroupRow, MeetingRow, NetworkCounts, PersonAssessmentRow};
pub use episodes::{EpisodeRow, TeamMemberRow};
pub use facts::{ExtractLine, FactSource, ImportedResults, Value};
pub use interventions::{
    AttendanceRow, EventRow, InterventionInsert, InterventionRow, InterventionSummary, PaymentRow, TutorInterventionRow,
};
pub use opportunities::{OpportunityRow, PlacementRow};
pub use organisations::OrganisationRow;
pub use persons::{IdentityRow, PersonRow, PersonSummary};
pub use programmes::{ParticipantRow, ProgrammeRow, QuotaRow, RuleRow};
pub use projects::{ProjectReviewRow, ProjectRow, ProjectVersionRow, ProjectWrite};
pub use referrals::{NotificationRow, ReferralInsert, ReferralRow};
pub use scope::Scope;
pub use sessions::{ApiTokenListing, ApiTokenRow, SessionRow};
pub use users::{MembershipRow, UserRow};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. a username already taken).
    #[error("duplicate value")]
    Duplicate,
    #[error("not found")]
    NotFound,
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate,
            _ => StoreError::Db(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A connection pool plus what the engine needs to keep writes consistent.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer: writes queue here instead of failing with "database is locked".
    write_lock: Arc<Mutex<()>>,
}

impl Store {
    /// Connects to `sqlite://path?mode=rwc` or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144;")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect_with(options).await?,
        };
        Ok(Store { pool, backend, write_lock: Arc::new(Mutex::new(())) })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations of this engine; safe to call at every start.
    pub async fn migrate(&self) -> Result<usize> {
        migrate::run(&self.pool, self.backend).await
    }

    /// A transaction that may write. Every service operation runs in exactly one.
    pub async fn write(&self) -> Result<Tx> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(Tx { tx, backend: self.backend, _guard: guard })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One unit of work: committed all together or not at all.
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// Hides the password part of a database URL in messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

impl Tx {
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
}

/// Executes one raw statement outside any use case. For maintenance and for tests that play
/// an attacker with direct database access; never called by the application.
pub async fn raw_execute(store: &Store, sql: &str) -> Result<u64> {
    Ok(sqlx::query(sql).execute(&store.pool).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_credentials() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://***@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
