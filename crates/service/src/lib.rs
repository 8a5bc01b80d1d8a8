//! Percorsi use cases: one function per thing a user does. Each takes an authenticated
//! [`Actor`], asks the [`policy`], runs in one store transaction and writes the audit trail.

pub mod account;
pub mod actor;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod bulk_export;
pub mod coordination;
pub mod deliveries;
pub mod demo;
pub mod directory;
pub mod documents;
pub mod error;
pub mod extract;
mod fact_cache;
pub mod fhir;
pub mod glass;
pub mod home;
pub mod import;
pub mod instruments;
pub mod interventions;
pub mod keyfile;
pub mod notes;
pub mod opportunities;
pub mod own_page;
pub mod pathway;
pub mod policy;
pub mod programmes;
pub mod projects;
pub mod referrals;
pub mod reports;
pub mod retention;
pub mod rights;
pub mod second_factor;
pub mod sso;
pub mod synthetic;
pub mod transfers;

pub use actor::Actor;
pub use error::{Result, ServiceError};
pub use percorsi_store::{self as store, Backend, Store};

use std::sync::Arc;

/// The application: storage plus the installation secret used for pseudonymous codes.
#[derive(Clone)]
pub struct Service {
    store: Store,
    pseudonym_key: Arc<Vec<u8>>,
    facts: Arc<fact_cache::FactCache>,
    /// How long a break-the-glass access lasts.
    glass_hours: i64,
    /// The roles that must sign in with a second factor.
    mfa_roles: Arc<Vec<percorsi_domain::codes::Role>>,
    /// The identity provider for single sign-on, when configured.
    sso: Option<Arc<sso::Sso>>,
    /// The k of the extract's k-anonymity.
    extract_k: usize,
    /// Where signed documents' files are kept; `None` refuses uploads with a clear message.
    documents: Option<Arc<dyn documents::DocumentFiles>>,
}

impl Service {
    pub fn new(store: Store, pseudonym_key: Vec<u8>) -> Self {
        Service {
            store,
            pseudonym_key: Arc::new(pseudonym_key),
            facts: Arc::default(),
            glass_hours: glass::DEFAULT_GLASS_HOURS,
            mfa_roles: Arc::new(second_factor::DEFAULT_MFA_ROLES.to_vec()),
            sso: None,
            extract_k: extract::DEFAULT_K,
            documents: None,
        }
    }

    /// Keeps signed documents' files in `files`.
    pub fn with_documents(mut self, files: Arc<dyn documents::DocumentFiles>) -> Self {
        self.documents = Some(files);
        self
    }

    /// The k of the extract's k-anonymity (at least 2).
    pub fn with_extract_k(mut self, k: usize) -> Service {
        self.extract_k = k.max(2);
        self
    }

    /// Signs people in through an OpenID Connect provider as well.
    pub fn with_sso(mut self, settings: sso::SsoSettings) -> Result<Service> {
        self.sso = Some(Arc::new(sso::Sso::new(settings)?));
        Ok(self)
    }

    /// The roles that must sign in with a second factor (by default administrators, auditors
    /// and analysts; an empty list only for a laboratory installation or a test of something
    /// else).
    pub fn with_mfa_roles(mut self, roles: Vec<percorsi_domain::codes::Role>) -> Service {
        self.mfa_roles = Arc::new(roles);
        self
    }

    pub fn mfa_roles(&self) -> &[percorsi_domain::codes::Role] {
        &self.mfa_roles
    }

    /// The installation's duration of break-the-glass accesses (1–24 hours).
    pub fn with_glass_hours(mut self, hours: i64) -> Service {
        self.glass_hours = hours.clamp(1, 24);
        self
    }

    pub fn glass_hours(&self) -> i64 {
        self.glass_hours
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The same installation as seen by a process that just started: the report extract is not
    /// loaded yet (benchmarks measure that first load).
    pub fn with_cold_cache(&self) -> Service {
        Service {
            store: self.store.clone(),
            pseudonym_key: self.pseudonym_key.clone(),
            facts: Arc::default(),
            glass_hours: self.glass_hours,
            mfa_roles: self.mfa_roles.clone(),
            sso: self.sso.clone(),
            extract_k: self.extract_k,
            documents: self.documents.clone(),
        }
    }
}

/// Serialises a value stored as JSON (plans, reviews, scores); failing means a bug, not bad input.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| ServiceError::Broken(e.to_string()))
}

/// Runs CPU-heavy work (password hashing, parsing a large import, computing a report, checking
/// the audit chain) on the blocking pool, so the async workers keep serving other requests.
/// At most one such task per core runs at once: past that, work waits for a core for as long
/// as a request waits for the database, then is refused as "busy" (503) instead of piling up
/// threads and memory.
pub(crate) async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static CORES: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let cores = CORES.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
    });
    let permit = tokio::time::timeout(percorsi_store::DEFAULT_WAIT, cores.acquire())
        .await
        .map_err(|_| ServiceError::Unavailable(percorsi_store::Unavailable::Busy))?
        .map_err(|e| ServiceError::Broken(format!("CPU semaphore closed: {e}")))?;
    let result = tokio::task::spawn_blocking(work).await;
    drop(permit);
    result.map_err(|e| ServiceError::Broken(format!("background task failed: {e}")))
}

/// Today's date in the server's time zone: the day against which episodes and consents are judged.
pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}
