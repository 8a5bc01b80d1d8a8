//! FHIR bulk exports (migration 0025): NDJSON files of one user's export, served by any app
//! server until deleted or a day old.

use crate::rows::now;
use crate::{Mode, Result, Tx, Write};
use sqlx::Row;

/// One export as its status request reports it.
#[derive(Debug, Clone)]
pub struct BulkExport {
    pub id: i64,
    pub request: String,
    pub created_at: String,
    /// `None` while the files are being written.
    pub completed_at: Option<String>,
    pub error: Option<String>,
    pub files: Vec<BulkFile>,
}

/// One NDJSON file of an export: a part of one resource type's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkFile {
    pub resource_type: String,
    /// 1, 2, … within the resource type.
    pub part: i64,
    pub resources: i64,
}

impl<M: Mode> Tx<M> {
    /// The export `id` of `user_id` made after `since`; `None` otherwise (another user's export
    /// answers like a missing one).
    pub async fn bulk_export(&mut self, user_id: i64, id: i64, since: &str) -> Result<Option<BulkExport>> {
        let Some(r) = sqlx::query(
            "SELECT id, request, created_at, completed_at, error FROM bulk_exports \
             WHERE id = $1 AND user_id = $2 AND created_at > $3",
        )
        .bind(id)
        .bind(user_id)
        .bind(since)
        .fetch_optional(self.conn())
        .await?
        else {
            return Ok(None);
        };
        let files = sqlx::query(
            "SELECT resource_type, part, resources FROM bulk_export_files WHERE export_id = $1 ORDER BY resource_type, part",
        )
        .bind(id)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|f| {
            Ok(BulkFile {
                resource_type: f.try_get("resource_type")?,
                part: f.try_get("part")?,
                resources: f.try_get("resources")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Some(BulkExport {
            id: r.try_get("id")?,
            request: r.try_get("request")?,
            created_at: r.try_get("created_at")?,
            completed_at: r.try_get("completed_at")?,
            error: r.try_get("error")?,
            files,
        }))
    }

    pub async fn bulk_export_file(&mut self, id: i64, resource_type: &str, part: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT body FROM bulk_export_files WHERE export_id = $1 AND resource_type = $2 AND part = $3",
        )
        .bind(id)
        .bind(resource_type)
        .bind(part)
        .fetch_optional(self.conn())
        .await?)
    }
}

impl Tx<Write> {
    /// A new export, in progress.
    pub async fn insert_bulk_export(&mut self, user_id: i64, programme_id: i64, request: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO bulk_exports (user_id, programme_id, request, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(programme_id)
        .bind(request)
        .bind(now())
        .fetch_one(self.conn())
        .await?)
    }

    /// One file of an export still being written (not served until the export is complete).
    pub async fn insert_bulk_file(&mut self, id: i64, file: &BulkFile, body: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO bulk_export_files (export_id, resource_type, part, resources, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&file.resource_type)
        .bind(file.part)
        .bind(file.resources)
        .bind(body)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The export's files are all written: it is complete.
    pub async fn complete_bulk_export(&mut self, id: i64) -> Result<()> {
        sqlx::query("UPDATE bulk_exports SET completed_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn fail_bulk_export(&mut self, id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE bulk_exports SET completed_at = $1, error = $2 WHERE id = $3")
            .bind(now())
            .bind(error)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Deletes an export of `user_id` (true when there was one) and every export older than
    /// `before`, whoever made it (`user_id` 0: only the old ones).
    pub async fn delete_bulk_exports(&mut self, user_id: i64, id: i64, before: &str) -> Result<bool> {
        let mine: Option<i64> = sqlx::query_scalar("SELECT id FROM bulk_exports WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.conn())
            .await?;
        let old = "SELECT id FROM bulk_exports WHERE created_at <= $1 OR id = $2";
        sqlx::query(&format!("DELETE FROM bulk_export_files WHERE export_id IN ({old})"))
            .bind(before)
            .bind(mine.unwrap_or(-1))
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM bulk_exports WHERE created_at <= $1 OR id = $2")
            .bind(before)
            .bind(mine.unwrap_or(-1))
            .execute(self.conn())
            .await?;
        Ok(mine.is_some())
    }
}
