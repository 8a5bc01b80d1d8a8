//! Group commit of audit entries written by reads.
//!
//! A read of identifiable data must leave an audit entry, and the response must not leave
//! before that entry is stored. Giving every read its own write transaction would put all
//! reads back in the writer's queue; instead one task takes whatever entries are waiting,
//! appends them to the hash chain in one transaction and wakes every request once it commits.

use crate::engine::{Backend, Tx, Write};
use crate::error::{StoreError, Unavailable};
use crate::Result;
use percorsi_domain::audit::AuditEntry;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

/// Most entries committed together: bounds a batch's transaction time.
const MAX_BATCH: usize = 512;
/// Requests waiting for the committer; past this, callers wait to enqueue (back-pressure).
const QUEUE: usize = 4096;

struct Job {
    entry: AuditEntry,
    done: oneshot::Sender<Result<()>>,
}

#[derive(Clone)]
pub(crate) struct Sender(mpsc::Sender<Job>);

impl Sender {
    pub(crate) async fn append(&self, entry: AuditEntry) -> Result<()> {
        let (done, wait) = oneshot::channel();
        let gone = || StoreError::Unavailable(Unavailable::Unreachable, "audit committer stopped".into());
        self.0.send(Job { entry, done }).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }
}

/// Starts the committer on the current runtime; it ends when the last [`Sender`] is dropped.
pub(crate) fn start(writer: AnyPool, backend: Backend) -> Sender {
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let result = commit_batch(&writer, backend, &batch).await;
            for job in batch.drain(..) {
                let answer = match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(e.duplicate_for_waiter()),
                };
                let _ = job.done.send(answer);
            }
        }
    });
    Sender(tx)
}

async fn commit_batch(writer: &AnyPool, backend: Backend, batch: &[Job]) -> Result<()> {
    let mut tx: Tx<Write> = Tx::begin(writer, backend).await?;
    tx.append_audit_batch(batch.iter().map(|job| &job.entry)).await?;
    tx.commit().await
}
