//! Storage errors, classified once so that every layer above can tell "your data is wrong"
//! from "someone else got there first" from "the database cannot take writes right now".

/// Why the database cannot serve the request now; each maps to a translated 503 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The disk (or the database's size limit) is full: nothing more can be written.
    DiskFull,
    /// The database file or server accepts no writes (permissions, read-only mount, replica).
    ReadOnly,
    /// Another writer holds the database longer than a request may wait.
    Busy,
    /// The server cannot be reached, or the connection broke.
    Unreachable,
}

impl Unavailable {
    /// The Fluent id of the message shown to users.
    pub fn message_key(self) -> &'static str {
        match self {
            Unavailable::DiskFull => "err-unavailable-disk-full",
            Unavailable::ReadOnly => "err-unavailable-read-only",
            Unavailable::Busy => "err-unavailable-busy",
            Unavailable::Unreachable => "err-unavailable-unreachable",
        }
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unavailable::DiskFull => "the disk is full",
            Unavailable::ReadOnly => "the database accepts no writes",
            Unavailable::Busy => "the database is busy",
            Unavailable::Unreachable => "the database cannot be reached or read",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. a username already taken).
    #[error("duplicate value")]
    Duplicate,
    #[error("not found")]
    NotFound,
    /// The person's processing is restricted (GDPR art. 18): the database refused to change
    /// their rows.
    #[error("the person's processing is restricted")]
    Restricted,
    /// A concurrent transaction changed the same data (PostgreSQL serialisation failure or
    /// deadlock); retrying the request sees the new state.
    #[error("concurrent change")]
    Contention,
    /// The database cannot serve the request now; nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(Unavailable, String),
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The same error for another waiter of a group commit (sqlx errors are not `Clone`).
    pub(crate) fn duplicate_for_waiter(&self) -> StoreError {
        match self {
            StoreError::Duplicate => StoreError::Duplicate,
            StoreError::NotFound => StoreError::NotFound,
            StoreError::Restricted => StoreError::Restricted,
            StoreError::Contention => StoreError::Contention,
            StoreError::Unavailable(u, m) => StoreError::Unavailable(*u, m.clone()),
            other => StoreError::Corrupt(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(kind) = unavailability(&e) {
            return StoreError::Unavailable(kind, e.to_string());
        }
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            // Raised by migration 0019's triggers, with the same text on both engines.
            sqlx::Error::Database(d) if d.message().contains("person_restricted") => StoreError::Restricted,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate,
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40001" | "40P01")) => {
                StoreError::Contention
            }
            _ => StoreError::Db(e),
        }
    }
}

/// Recognises the faults of the environment (disk, permissions, network, locks) in both
/// engines' error codes.
fn unavailability(e: &sqlx::Error) -> Option<Unavailable> {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Some(Unavailable::Unreachable)
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Some(Unavailable::Unreachable),
        sqlx::Error::Database(d) => {
            let code = d.code()?;
            // SQLite reports extended result codes as numbers; the primary code is the low byte.
            if let Ok(n) = code.parse::<i32>() {
                return match n & 0xff {
                    13 => Some(Unavailable::DiskFull),         // SQLITE_FULL
                    8 => Some(Unavailable::ReadOnly),          // SQLITE_READONLY
                    5 | 6 => Some(Unavailable::Busy),          // SQLITE_BUSY, SQLITE_LOCKED
                    10 | 14 => Some(Unavailable::Unreachable), // SQLITE_IOERR, SQLITE_CANTOPEN
                    _ => None,
                };
            }
            // PostgreSQL SQLSTATE classes.
            match code.as_ref() {
                "53100" => Some(Unavailable::DiskFull),
                "25006" => Some(Unavailable::ReadOnly),
                "55P03" | "57014" => Some(Unavailable::Busy),
                c if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") => {
                    Some(Unavailable::Unreachable)
                }
                _ => None,
            }
        }
        _ => None,
    }
}
