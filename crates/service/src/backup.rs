//! Online backup and restore of the embedded database, verified before it is trusted: a copy
//! that SQLite finds sound, whose audit chain is intact and whose key fingerprint is this
//! installation's. (PostgreSQL installations use `pg_dump`/`pg_restore`, see the README.)

use crate::documents::{DirectoryFiles, DocumentFiles};
use crate::{keyfile, Result, Service, ServiceError};
use percorsi_domain::Invalid;
use percorsi_store::{Store, StoreOptions};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a backup holds, as checked on the copy itself.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub file: PathBuf,
    pub bytes: u64,
    /// SQLite's `integrity_check` answer: "ok" when sound.
    pub integrity: String,
    pub audit_entries: u64,
    /// Counts of the main records, by kind.
    pub records: Vec<(&'static str, i64)>,
    /// Signed documents' files carried beside the copy (in [`documents_beside`]), each checked
    /// against its SHA-256.
    pub documents: usize,
}

/// Where a backup keeps the signed documents' files: a directory beside it, named after it
/// (`copia.db` → `copia.db.documents`).
pub fn documents_beside(backup: &Path) -> PathBuf {
    let mut name = backup.file_name().unwrap_or_default().to_os_string();
    name.push(".documents");
    backup.with_file_name(name)
}

/// Copies the files of these documents from the installation's store into a backup's
/// directory (content-addressed, so a file already there is the same file).
pub fn copy_documents(files: &dyn DocumentFiles, hashes: &[String], dest: &Path) -> Result<usize> {
    let into = DirectoryFiles::new(dest);
    for sha in hashes {
        let bytes = files.get(sha).map_err(|e| ServiceError::Broken(format!("document file {sha}: {e}")))?;
        into.put(&bytes).map_err(|e| ServiceError::Broken(format!("writing {}: {e}", dest.display())))?;
    }
    Ok(hashes.len())
}

impl Service {
    /// Writes a consistent copy of the running database to `dest` and verifies it. Writes go
    /// on meanwhile; the copy holds everything committed before it started.
    pub async fn backup(&self, dest: &Path) -> Result<BackupSummary> {
        if dest.exists() {
            return Err(Invalid::one("out", "err-file-exists").into());
        }
        self.store().backup_sqlite(dest).await?;
        // The files of the documents the copy refers to: written before their rows were
        // committed, so every row in the copy has its file in the store.
        let hashes = {
            let url = format!("sqlite://{}?mode=ro", dest.display());
            let copy = Store::connect_with(&url, StoreOptions { read_only: true, ..Default::default() }).await?;
            let mut tx = copy.read().await?;
            let hashes = tx.document_hashes().await?;
            tx.commit().await?;
            copy.close().await;
            hashes
        };
        if !hashes.is_empty() {
            let files = self.files()?;
            let dir = documents_beside(dest);
            tokio::task::spawn_blocking(move || copy_documents(files.as_ref(), &hashes, &dir))
                .await
                .map_err(|e| ServiceError::Broken(e.to_string()))??;
        }
        verify_backup(dest, &self.pseudonym_key).await
    }

    /// The files every document row refers to (for a PostgreSQL backup beside `pg_dump`).
    pub async fn backup_documents(&self, dest: &Path) -> Result<usize> {
        let mut tx = self.store().read().await?;
        let hashes = tx.document_hashes().await?;
        tx.commit().await?;
        if hashes.is_empty() {
            return Ok(0);
        }
        let files = self.files()?;
        let dir = dest.to_path_buf();
        tokio::task::spawn_blocking(move || copy_documents(files.as_ref(), &hashes, &dir))
            .await
            .map_err(|e| ServiceError::Broken(e.to_string()))?
    }
}

/// Opens a backup read-only and checks it: structure, key fingerprint, audit chain.
pub async fn verify_backup(file: &Path, key: &[u8]) -> Result<BackupSummary> {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let store = Store::connect_with(&url, StoreOptions { read_only: true, ..Default::default() }).await?;
    let result = check(&store, file, key).await;
    store.close().await;
    result
}

async fn check(store: &Store, file: &Path, key: &[u8]) -> Result<BackupSummary> {
    let integrity = store.integrity_check().await?;
    if integrity != "ok" {
        return Err(ServiceError::Broken(format!("{}: integrity check says {integrity}", file.display())));
    }
    let mut tx = store.read().await?;
    let recorded = tx.installation_fingerprint().await?;
    let records = tx.totals().await?;
    let out_of_step = tx.balances_out_of_step().await?;
    let counts_out_of_step = tx.counts_out_of_step().await?;
    tx.commit().await?;
    if let Some(programme) = counts_out_of_step.first() {
        return Err(ServiceError::Broken(format!(
            "{}: the intervention counts of programme {programme} differ from its interventions",
            file.display()
        )));
    }
    if let Some((programme, organisation)) = out_of_step.first() {
        return Err(ServiceError::Broken(format!(
            "{}: the budget totals of programme {programme}, organisation {organisation} differ from its ledger",
            file.display()
        )));
    }
    if recorded.is_some_and(|f| f != keyfile::fingerprint(key)) {
        return Err(ServiceError::Broken(format!(
            "{} was made with another installation key: its pseudonymous codes would not match",
            file.display()
        )));
    }
    let copy = Service::new(store.clone(), key.to_vec());
    let audit = copy.verify_audit().await?;
    if let Some(b) = audit.first_broken {
        return Err(ServiceError::Broken(format!(
            "{}: audit trail broken at entry {} ({})",
            file.display(),
            b.id,
            b.reason
        )));
    }
    let mut tx = store.read().await?;
    let hashes = tx.document_hashes().await?;
    tx.commit().await?;
    let beside = DirectoryFiles::new(documents_beside(file));
    for sha in &hashes {
        beside.get(sha).map_err(|e| {
            ServiceError::Broken(format!("{}: document file {sha}: {e}", documents_beside(file).display()))
        })?;
    }
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary {
        file: file.to_path_buf(),
        bytes,
        integrity,
        audit_entries: audit.entries,
        records,
        documents: hashes.len(),
    })
}

/// Puts a verified backup in place of the SQLite database at `target`. The server must be
/// stopped; an existing database is replaced only with `force`. The copy is written beside the
/// target and renamed over it, so a failure midway leaves the old database as it was.
pub async fn restore_sqlite(
    backup: &Path,
    target: &Path,
    documents: &Path,
    key: &[u8],
    force: bool,
) -> Result<BackupSummary> {
    let summary = verify_backup(backup, key).await?;
    if target.exists() && !force {
        return Err(Invalid::one("database_url", "err-restore-exists").into());
    }
    // The files first: a database restored without them would point to nothing.
    if summary.documents > 0 {
        let url = format!("sqlite://{}?mode=ro", backup.display());
        let copy = Store::connect_with(&url, StoreOptions { read_only: true, ..Default::default() }).await?;
        let mut tx = copy.read().await?;
        let hashes = tx.document_hashes().await?;
        tx.commit().await?;
        copy.close().await;
        let from = DirectoryFiles::new(documents_beside(backup));
        copy_documents(&from, &hashes, documents)?;
    }
    let io = |e: std::io::Error| ServiceError::Broken(format!("restoring to {}: {e}", target.display()));
    let partial = target.with_extension("restoring");
    std::fs::copy(backup, &partial).map_err(io)?;
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(io)?;
    for stale in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(target.with_extension(stale));
    }
    std::fs::rename(&partial, target).map_err(io)?;
    Ok(summary)
}
