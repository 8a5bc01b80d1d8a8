//! Checkpoints of the report extract (ADR 0009): the facts as they stood at a revision, packed
//! in a few large values. Reading a million facts row by row costs seconds in the driver;
//! reading a checkpoint and then the facts written since costs a fraction of that. Derived
//! data only: deleting every checkpoint loses nothing.

use crate::engine::{Read, Tx, Write};
use crate::{Result, Store};
use sqlx::Row;

/// A complete checkpoint, read block by block in one snapshot: a million facts are 56 MB of
/// blocks, and holding them all while the extract is built from them doubled the server's
/// peak memory.
pub struct Checkpoint {
    pub revision: i64,
    pub blocks: i64,
    next: i64,
    tx: Tx<Read>,
}

impl Checkpoint {
    /// The next block in order, `None` after the last.
    pub async fn next_block(&mut self) -> Result<Option<Vec<u8>>> {
        if self.next >= self.blocks {
            return Ok(None);
        }
        let data = sqlx::query_scalar("SELECT data FROM report_checkpoints WHERE revision = $1 AND block = $2")
            .bind(self.revision)
            .bind(self.next)
            .fetch_one(self.tx.conn())
            .await?;
        self.next += 1;
        Ok(Some(data))
    }

    /// Ends the snapshot.
    pub async fn finish(self) -> Result<()> {
        self.tx.commit().await
    }
}

impl Store {
    /// The latest complete checkpoint, to be read in one snapshot.
    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let mut tx = self.read().await?;
        let sets = sqlx::query(
            "SELECT revision, blocks, CAST(COUNT(*) AS BIGINT) AS present FROM report_checkpoints \
             GROUP BY revision, blocks ORDER BY revision DESC",
        )
        .fetch_all(tx.conn())
        .await?;
        let mut complete = None;
        for r in &sets {
            let (revision, blocks, present): (i64, i64, i64) =
                (r.try_get("revision")?, r.try_get("blocks")?, r.try_get("present")?);
            if blocks == present {
                complete = Some((revision, blocks));
                break;
            }
        }
        let Some((revision, blocks)) = complete else {
            tx.commit().await?;
            return Ok(None);
        };
        Ok(Some(Checkpoint { revision, blocks, next: 0, tx }))
    }
}

impl Tx<Write> {
    /// One block of a checkpoint. `StoreError::Duplicate` when another server wrote the same
    /// checkpoint meanwhile (it holds the same facts).
    pub async fn write_checkpoint_block(&mut self, revision: i64, block: i64, blocks: i64, data: &[u8]) -> Result<()> {
        sqlx::query("INSERT INTO report_checkpoints (revision, block, blocks, data) VALUES ($1, $2, $3, $4)")
            .bind(revision)
            .bind(block)
            .bind(blocks)
            .bind(data)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Removes the checkpoints older than a complete one.
    pub async fn drop_checkpoints_before(&mut self, revision: i64) -> Result<()> {
        sqlx::query("DELETE FROM report_checkpoints WHERE revision < $1").bind(revision).execute(self.conn()).await?;
        Ok(())
    }
}
