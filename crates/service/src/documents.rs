//! Signed documents (a consent, a project as the person signed it, a referral letter, an
//! intervention's conclusion): files kept outside the database, content-addressed with
//! SHA-256, attached to a record of the person and shown exactly to those who see that record.
//!
//! Which documents an actor sees is decided from the same store queries, with the same owners,
//! as the person page's lists of consents, interventions, projects and referrals: a document is
//! visible when the record it is attached to is listed for the actor, and a download of any
//! other answers 404 like its parent would.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use percorsi_domain::consent::DataCategory;
use percorsi_domain::document::{self, Parent};
use percorsi_domain::Invalid;
use percorsi_store::{DocumentInsert, DocumentRow, Mode, Tx, Unavailable};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Where the files are. Content-addressed: a file is named by its SHA-256, written once, and
/// checked against its name whenever it is read.
pub trait DocumentFiles: Send + Sync + std::fmt::Debug {
    /// Stores the bytes (durably, before returning) and gives their SHA-256 in hex.
    fn put(&self, bytes: &[u8]) -> std::io::Result<String>;
    /// The file with this hash; an error if it is missing or its content no longer matches.
    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>>;
    /// Removes a file no record refers to any more.
    fn remove(&self, sha256: &str) -> std::io::Result<()>;
}

/// Files in a directory: next to the SQLite database by default, or a directory every app
/// server of a PostgreSQL installation mounts (the same path on each).
#[derive(Debug, Clone)]
pub struct DirectoryFiles {
    root: PathBuf,
}

impl DirectoryFiles {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirectoryFiles { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, sha256: &str) -> std::io::Result<PathBuf> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a SHA-256"));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl DocumentFiles for DirectoryFiles {
    fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.path(&sha)?;
        if path.exists() {
            return Ok(sha);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        // Written aside, flushed to disk, then renamed into place: a file under its final name
        // is always whole, and a crash leaves at most a stray temporary file.
        let tmp = dir.join(format!(".{sha}.{}.partial", rand::random::<u64>()));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map(|_| sha)
    }

    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        let bytes = std::fs::read(self.path(sha256)?)?;
        if sha256_hex(&bytes) != sha256 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("document file {sha256} is corrupt"),
            ));
        }
        Ok(bytes)
    }

    fn remove(&self, sha256: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(sha256)?) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// A file error as the user sees it: a full or read-only disk is the same 503 as the
/// database's; anything else is a fault of the installation.
fn file_error(e: std::io::Error) -> ServiceError {
    use std::io::ErrorKind::*;
    match e.kind() {
        StorageFull | QuotaExceeded | FileTooLarge => ServiceError::Unavailable(Unavailable::DiskFull),
        ReadOnlyFilesystem | PermissionDenied => ServiceError::Unavailable(Unavailable::ReadOnly),
        _ => ServiceError::Broken(format!("document store: {e}")),
    }
}

/// An upload as the page and the API send it.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// `consent:12`, `project:5`, `referral:3`, `intervention:8`.
    pub attached_to: String,
    pub title: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A record a document can be attached to, as the person page offers it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Attachable {
    /// `kind:id`, the value the upload sends.
    pub value: String,
    pub kind: &'static str,
    pub id: i64,
    /// A project's current version: the one a document attached now belongs to.
    pub version: Option<i64>,
    /// Whether the actor's organisation may attach to it (it owns the record).
    pub can_attach: bool,
}

/// The records of a person the actor sees, and which of them it may attach to.
struct Parents {
    visible: HashSet<(&'static str, i64)>,
    attachable: Vec<Attachable>,
}

async fn parents<M: Mode>(tx: &mut Tx<M>, actor: &Actor, person_id: i64) -> Result<Parents> {
    let access = policy::person_access(tx, actor, person_id).await?;
    let scope = actor.scope();
    let writer = policy::allows(actor.role, Permission::ViewIdentity);
    let mut out = Parents { visible: HashSet::new(), attachable: Vec::new() };
    let mut add = |kind: Parent, id: i64, version: Option<i64>, own: bool| {
        out.visible.insert((kind.code(), id));
        out.attachable.push(Attachable {
            value: format!("{}:{id}", kind.code()),
            kind: kind.code(),
            id,
            version,
            can_attach: writer && own,
        });
    };
    // Consents are recorded by the organisation in charge; it keeps their signed forms.
    for c in tx.consents_of_person(&scope, person_id).await? {
        add(Parent::Consent, c.id, None, access.in_charge());
    }
    let owners = access.owners(DataCategory::Intervention);
    for i in tx.interventions_of_person(&scope, person_id, owners).await? {
        add(Parent::Intervention, i.id, None, i.organisation_id == actor.organisation_id);
    }
    for p in tx.projects_of_person(&scope, person_id, access.owners(DataCategory::Project)).await? {
        add(Parent::Project, p.id, Some(p.current_version), p.organisation_id == actor.organisation_id);
    }
    for r in tx.referrals_of_person(&scope, person_id).await? {
        let own = r.to_org == actor.organisation_id || r.from_org == Some(actor.organisation_id);
        add(Parent::Referral, r.id, None, own);
    }
    Ok(out)
}

/// A person's documents the actor sees.
async fn visible_documents<M: Mode>(tx: &mut Tx<M>, parents: &Parents, person_id: i64) -> Result<Vec<DocumentRow>> {
    let mut out = Vec::new();
    for kind in Parent::ALL {
        for d in tx.documents_of_person(person_id, kind.code()).await? {
            if parents.visible.contains(&(kind.code(), d.parent_id)) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// What the person page shows: the documents, and the records a new one can be attached to.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PersonDocuments {
    pub documents: Vec<DocumentRow>,
    pub attachable: Vec<Attachable>,
}

impl Service {
    /// The file store, or a clear error when the installation has none.
    pub(crate) fn files(&self) -> Result<std::sync::Arc<dyn DocumentFiles>> {
        self.documents.clone().ok_or(ServiceError::Conflict("err-documents-not-configured"))
    }

    /// Attaches a signed document to one of the person's records that the actor's organisation
    /// owns (roles that handle identity). The file is stored before the row that points to it
    /// is committed, so every row always has its file.
    pub async fn attach_document(&self, actor: &Actor, person_id: i64, upload: &Upload) -> Result<i64> {
        policy::require(actor, Permission::ViewIdentity)?;
        let files = self.files()?;
        let target = {
            let mut tx = self.store().read().await?;
            let parents = parents(&mut tx, actor, person_id).await?;
            // Refused by the database too; asked first so that no file is written for nothing.
            if tx.restriction(person_id).await?.is_some() {
                return Err(ServiceError::Conflict("err-person-restricted"));
            }
            tx.commit().await?;
            parents.attachable.into_iter().find(|a| a.value == upload.attached_to.trim())
        };
        let checked = document::check(&upload.title, &upload.file_name, &upload.bytes);
        let target = match (target, checked) {
            (Some(t), Ok(d)) if t.can_attach => (t, d),
            (Some(_), Ok(_)) => return Err(ServiceError::Forbidden),
            (None, Ok(_)) => return Err(Invalid::one("attached_to", "err-unknown-choice").into()),
            (None, Err(Invalid(mut e))) => {
                e.push(percorsi_domain::FieldError::new("attached_to", "err-unknown-choice"));
                return Err(Invalid(e).into());
            }
            (Some(_), Err(e)) => return Err(e.into()),
        };
        let (parent, doc) = target;
        let bytes = upload.bytes.clone();
        let sha = tokio::task::spawn_blocking(move || files.put(&bytes))
            .await
            .map_err(|e| ServiceError::Broken(format!("document store: {e}")))?
            .map_err(file_error)?;
        let mut tx = self.store().write().await?;
        let id = tx
            .insert_document(&DocumentInsert {
                person_id,
                parent_kind: parent.kind,
                parent_id: parent.id,
                parent_version: parent.version,
                sha256: &sha,
                size_bytes: upload.bytes.len() as i64,
                media_type: doc.media_type.mime(),
                file_name: &doc.file_name,
                title: &doc.title,
                organisation_id: actor.organisation_id,
                uploaded_by: actor.user_id,
            })
            .await?;
        let detail = format!("{} allegato a {} {} (sha256 {sha})", doc.media_type.mime(), parent.kind, parent.id);
        record(&mut tx, actor, "create", "document", Some(id), "documento firmato", Some(detail)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The person's documents the actor sees, and where a new one may go. Audited.
    pub async fn person_documents(&self, actor: &Actor, person_id: i64) -> Result<PersonDocuments> {
        let mut tx = self.store().read().await?;
        let parents = parents(&mut tx, actor, person_id).await?;
        let documents = visible_documents(&mut tx, &parents, person_id).await?;
        tx.commit().await?;
        self.record_person_read(actor, person_id, "document_list", None, "documenti della persona").await?;
        Ok(PersonDocuments { documents, attachable: parents.attachable })
    }

    /// One document's file, for someone who sees the record it is attached to; 404 otherwise,
    /// as for the record itself. Audited.
    pub async fn document_file(&self, actor: &Actor, id: i64) -> Result<(DocumentRow, Vec<u8>)> {
        policy::require(actor, Permission::ViewPersons)?;
        let row = {
            let mut tx = self.store().read().await?;
            let row = tx.document(id).await?.ok_or(ServiceError::NotFound)?;
            let parents = match parents(&mut tx, actor, row.person_id).await {
                Err(ServiceError::Forbidden) => return Err(ServiceError::NotFound),
                other => other?,
            };
            tx.commit().await?;
            let kind = Parent::parse(&row.parent_kind).ok_or(ServiceError::NotFound)?;
            if !parents.visible.contains(&(kind.code(), row.parent_id)) {
                return Err(ServiceError::NotFound);
            }
            row
        };
        let store = self.files()?;
        let sha = row.sha256.clone();
        let bytes = tokio::task::spawn_blocking(move || store.get(&sha))
            .await
            .map_err(|e| ServiceError::Broken(format!("document store: {e}")))?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData => {
                    ServiceError::Broken(format!("document {id}: {e}"))
                }
                _ => file_error(e),
            })?;
        self.record_person_read(actor, row.person_id, "document", Some(id), "documento firmato").await?;
        Ok((row, bytes))
    }

    /// Deletes the files of erased documents that no other record uses (after the erasure
    /// committed: a failure here leaves an unreferenced file, never a row without its file).
    pub(crate) async fn forget_files(&self, files: Vec<String>) -> Result<()> {
        let Some(store) = self.documents.clone() else { return Ok(()) };
        let mut unused = Vec::new();
        let mut tx = self.store().read().await?;
        for sha in files {
            if !tx.document_file_used(&sha).await? {
                unused.push(sha);
            }
        }
        tx.commit().await?;
        tokio::task::spawn_blocking(move || unused.iter().try_for_each(|sha| store.remove(sha)))
            .await
            .map_err(|e| ServiceError::Broken(format!("document store: {e}")))?
            .map_err(file_error)
    }
}
