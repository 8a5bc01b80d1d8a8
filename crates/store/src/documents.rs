//! The rows of signed documents; the files themselves are in the service's document store,
//! addressed by SHA-256 (migration 0020).

use crate::engine::{Mode, Tx, Write};
use crate::rows::now;
use crate::Result;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentRow {
    pub id: i64,
    pub person_id: i64,
    pub parent_kind: String,
    pub parent_id: i64,
    pub parent_version: Option<i64>,
    pub sha256: String,
    pub size_bytes: i64,
    pub media_type: String,
    pub file_name: String,
    pub title: String,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub uploaded_by_name: String,
    pub uploaded_at: String,
}

/// A document to record.
pub struct DocumentInsert<'a> {
    pub person_id: i64,
    pub parent_kind: &'a str,
    pub parent_id: i64,
    pub parent_version: Option<i64>,
    pub sha256: &'a str,
    pub size_bytes: i64,
    pub media_type: &'a str,
    pub file_name: &'a str,
    pub title: &'a str,
    pub organisation_id: i64,
    pub uploaded_by: i64,
}

const SELECT: &str = "SELECT d.id, d.person_id, d.parent_kind, d.parent_id, d.parent_version, d.sha256, d.size_bytes, \
    d.media_type, d.file_name, d.title, d.organisation_id, o.name AS organisation_name, u.display_name AS uploaded_by_name, \
    d.uploaded_at FROM documents d JOIN organisations o ON o.id = d.organisation_id JOIN users u ON u.id = d.uploaded_by";

fn map(r: &AnyRow) -> Result<DocumentRow> {
    Ok(DocumentRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        parent_kind: r.try_get("parent_kind")?,
        parent_id: r.try_get("parent_id")?,
        parent_version: r.try_get("parent_version")?,
        sha256: r.try_get("sha256")?,
        size_bytes: r.try_get("size_bytes")?,
        media_type: r.try_get("media_type")?,
        file_name: r.try_get("file_name")?,
        title: r.try_get("title")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        uploaded_by_name: r.try_get("uploaded_by_name")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

impl<M: Mode> Tx<M> {
    pub async fn document(&mut self, id: i64) -> Result<Option<DocumentRow>> {
        let sql = format!("{SELECT} WHERE d.id = $1");
        sqlx::query(&sql).bind(id).fetch_optional(self.conn()).await?.as_ref().map(map).transpose()
    }

    /// The documents attached to one record, oldest first.
    pub async fn documents_of(&mut self, parent_kind: &str, parent_id: i64) -> Result<Vec<DocumentRow>> {
        let sql = format!("{SELECT} WHERE d.parent_kind = $1 AND d.parent_id = $2 ORDER BY d.id");
        let rows = sqlx::query(&sql).bind(parent_kind).bind(parent_id).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// The documents attached to records of one kind among a person's (one query for a list).
    pub async fn documents_of_person(&mut self, person_id: i64, parent_kind: &str) -> Result<Vec<DocumentRow>> {
        let sql = format!("{SELECT} WHERE d.person_id = $1 AND d.parent_kind = $2 ORDER BY d.id");
        let rows = sqlx::query(&sql).bind(person_id).bind(parent_kind).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    /// Every file a document row refers to (what a backup must carry).
    pub async fn document_hashes(&mut self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT sha256 FROM documents ORDER BY sha256").fetch_all(self.conn()).await?)
    }

    /// Whether any document row still refers to this file.
    pub async fn document_file_used(&mut self, sha256: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE sha256 = $1")
            .bind(sha256)
            .fetch_one(self.conn())
            .await?;
        Ok(n > 0)
    }
}

impl Tx<Write> {
    pub async fn insert_document(&mut self, d: &DocumentInsert<'_>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO documents (person_id, parent_kind, parent_id, parent_version, sha256, size_bytes, media_type, \
             file_name, title, organisation_id, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(d.person_id)
        .bind(d.parent_kind)
        .bind(d.parent_id)
        .bind(d.parent_version)
        .bind(d.sha256)
        .bind(d.size_bytes)
        .bind(d.media_type)
        .bind(d.file_name)
        .bind(d.title)
        .bind(d.organisation_id)
        .bind(d.uploaded_by)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }

    /// Removes a person's documents (their identity is being erased: a signed form names
    /// them) and returns the files they referred to, for the caller to delete those no other
    /// row uses once this transaction has committed.
    pub async fn delete_documents_of_person(&mut self, person_id: i64) -> Result<Vec<String>> {
        let files: Vec<String> = sqlx::query_scalar("SELECT DISTINCT sha256 FROM documents WHERE person_id = $1")
            .bind(person_id)
            .fetch_all(self.conn())
            .await?;
        sqlx::query("DELETE FROM documents WHERE person_id = $1").bind(person_id).execute(self.conn()).await?;
        Ok(files)
    }
}
