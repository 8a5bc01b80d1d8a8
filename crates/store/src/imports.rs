//! Historical imports in stages (ADR 0015). An import takes the installation's import lock (a
//! `staging` row in `imports`), writes its people, interventions, results and facts in short
//! transactions tagged with its id, invisible to every reader, and is published in one short
//! step that flips its state. A failed or abandoned import is discarded in short steps too, so
//! neither publishing nor discarding ever holds SQLite's single writer for long.

use crate::engine::{Mode, Tx, Write};
use crate::{Result, StoreError};
use sqlx::Row;

/// What a reader must leave out: rows of imports that are not published yet.
pub(crate) const NOT_STAGING: &str = "NOT IN (SELECT id FROM imports WHERE state = 'staging')";

/// What the import writes when it is published.
#[derive(Debug, Clone)]
pub struct ImportCounts {
    pub rows_total: i64,
    pub rows_added: i64,
    pub rows_present: i64,
}

/// One row changed, or the import is no longer staging (discarded by another process as
/// abandoned): the writer must stop.
fn still_staging(rows: u64) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::Contention)
    }
}

impl Tx<Write> {
    /// Starts staging an import. Fails with `StoreError::Duplicate` while another import is
    /// staging anywhere in the installation (on any app server).
    pub async fn begin_import(
        &mut self,
        programme_id: i64,
        file_name: &str,
        file_sha256: &str,
        user_id: i64,
        now: &str,
    ) -> Result<i64> {
        // Every fact the import writes takes a later revision than this one (revisions are
        // assigned under the extract lock), which is what lets readers wait for it.
        let first_revision = self.next_revision().await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO imports (programme_id, file_name, file_sha256, rows_total, rows_added, rows_present, user_id, at, \
             state, first_revision, heartbeat) VALUES ($1, $2, $3, 0, 0, 0, $4, $5, 'staging', $6, $5) RETURNING id",
        )
        .bind(programme_id)
        .bind(file_name)
        .bind(file_sha256)
        .bind(user_id)
        .bind(now)
        .bind(first_revision)
        .fetch_one(self.conn())
        .await?)
    }

    /// Renews the import's heartbeat with each chunk. Fails with `StoreError::Contention` when
    /// the import is no longer staging (discarded as abandoned by another process): the
    /// writer must stop.
    pub async fn import_heartbeat(&mut self, import_id: i64, now: &str) -> Result<()> {
        let n = sqlx::query("UPDATE imports SET heartbeat = $2 WHERE id = $1 AND state = 'staging'")
            .bind(import_id)
            .bind(now)
            .execute(self.conn())
            .await?
            .rows_affected();
        still_staging(n)
    }

    /// Makes every row of the import visible at once.
    pub async fn publish_import(&mut self, import_id: i64, counts: &ImportCounts, now: &str) -> Result<()> {
        let n = sqlx::query(
            "UPDATE imports SET state = 'published', rows_total = $2, rows_added = $3, rows_present = $4, at = $5, \
             heartbeat = NULL WHERE id = $1 AND state = 'staging'",
        )
        .bind(import_id)
        .bind(counts.rows_total)
        .bind(counts.rows_added)
        .bind(counts.rows_present)
        .bind(now)
        .execute(self.conn())
        .await?
        .rows_affected();
        still_staging(n)
    }

    /// Removes up to `limit` interventions of a staging import (their facts and results with
    /// them), then its people, then the import itself. Returns true once nothing is left.
    pub async fn discard_import_step(&mut self, import_id: i64, limit: i64) -> Result<bool> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM interventions WHERE import_id = $1 ORDER BY id LIMIT $2")
                .bind(import_id)
                .bind(limit)
                .fetch_all(self.conn())
                .await?;
        if !ids.is_empty() {
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            for table in ["report_facts", "imported_results"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE intervention_id IN ({list})"))
                    .execute(self.conn())
                    .await?;
            }
            sqlx::query(&format!("DELETE FROM interventions WHERE id IN ({list})")).execute(self.conn()).await?;
            return Ok(false);
        }
        let persons: Vec<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE import_id = $1 ORDER BY id LIMIT $2")
            .bind(import_id)
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
        if !persons.is_empty() {
            let list = persons.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            sqlx::query(&format!("DELETE FROM persons WHERE id IN ({list})")).execute(self.conn()).await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM imports WHERE id = $1 AND state = 'staging'")
            .bind(import_id)
            .execute(self.conn())
            .await?;
        Ok(true)
    }
}

impl<M: Mode> Tx<M> {
    /// Staging imports whose heartbeat is older than `cutoff` (their writer is gone).
    pub async fn abandoned_imports(&mut self, cutoff: &str) -> Result<Vec<i64>> {
        let rows =
            sqlx::query("SELECT id FROM imports WHERE state = 'staging' AND (heartbeat IS NULL OR heartbeat < $1)")
                .bind(cutoff)
                .fetch_all(self.conn())
                .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The lowest revision a staging import may write facts at, if one is staging: report
    /// readers must not move past the revision before it.
    pub(crate) async fn staging_revision(&mut self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(first_revision) FROM imports WHERE state = 'staging'")
            .fetch_one(self.conn())
            .await?)
    }
}
