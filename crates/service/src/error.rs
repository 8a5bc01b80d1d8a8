use percorsi_domain::Invalid;
use percorsi_store::{StoreError, Unavailable};

/// What can go wrong in a use case, each mapped once to an HTTP status and a message.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Well-formed, but the current state refuses it: the budget does not cover it, the
    /// intervention is no longer in a state that allows it, the month is already paid. Often
    /// the loser of a race; answered 409 with what happened.
    #[error("refused by the current state")]
    Refused(Invalid),
    /// Not there, or not visible to this actor: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("not authenticated")]
    Unauthenticated,
    /// A sensitive action asks the user to prove who they are again (password or provider).
    #[error("re-authentication required")]
    Reauthenticate,
    /// A conflict with existing data; the key is a Fluent message id.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Too many attempts of something that is limited per user (e.g. "già noto" probes); the
    /// key is a Fluent message id. Answered 429 with `Retry-After`.
    #[error("too many attempts: {0}")]
    TooMany(&'static str),
    /// Too many failed sign-ins for this username or from this address: try again in this
    /// many seconds. Answered 429 with `Retry-After`.
    #[error("sign-in throttled for {0} s")]
    Throttled(i64),
    /// The database cannot serve the request now (disk full, read-only, unreachable, busy):
    /// nothing was written; the user may retry later.
    #[error("database unavailable: {0}")]
    Unavailable(Unavailable),
    #[error(transparent)]
    Store(StoreError),
    /// Stored or shipped data that should be valid is not (a bug or a hand-edited database).
    #[error("inconsistent data: {0}")]
    Broken(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Duplicate => ServiceError::Conflict("err-duplicate"),
            StoreError::Contention => ServiceError::Conflict("err-concurrent-change"),
            StoreError::Restricted => ServiceError::Conflict("err-person-restricted"),
            StoreError::Unavailable(kind, detail) => {
                tracing::warn!(%kind, %detail, "database unavailable");
                ServiceError::Unavailable(kind)
            }
            other => ServiceError::Store(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;
