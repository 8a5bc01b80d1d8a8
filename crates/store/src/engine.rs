//! Connections and transactions: reads and writes apart (ADR 0012).
//!
//! SQLite runs in WAL mode with a pool of read-only connections and exactly one writer
//! connection, so a read never waits for a write and writes queue in the process instead of
//! failing with "database is locked". PostgreSQL has one pool; reads run in read-only
//! repeatable-read transactions, writes in read-committed ones that lock what they change.
//! Which kind of transaction a use case holds is in its type: [`Tx<Read>`] offers only the
//! queries, [`Tx<Write>`] the queries and the writes.

use crate::error::StoreError;
use crate::{group_commit, Result};
use percorsi_domain::audit::AuditEntry;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor};
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How long a request may wait for a connection or a lock before it is told the database is
/// unavailable (503): long enough for a normal burst of writes, short enough that a fault is
/// reported within the two seconds the operators' checks allow.
pub const DEFAULT_WAIT: Duration = Duration::from_millis(1500);

/// Tuning that differs between the server, the CLI and the tests.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Longest wait for a connection or for the SQLite write lock.
    pub wait: Duration,
    /// Read connections (SQLite) or all connections (PostgreSQL).
    pub connections: u32,
    /// Caps the SQLite database size (its `max_page_count`); `None`: only the disk limits it.
    pub max_size_bytes: Option<u64>,
    /// Opens an SQLite file only to read it (a backup being verified): no writer, no WAL switch.
    pub read_only: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { wait: DEFAULT_WAIT, connections: 16, max_size_bytes: None, read_only: false }
    }
}

/// A read-only transaction: a consistent snapshot that never waits for a writer.
pub enum Read {}
/// A transaction that may write; on SQLite the only one at a time.
pub enum Write {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Read {}
    impl Sealed for super::Write {}
}

/// The kind of a transaction, fixed in its type.
pub trait Mode: sealed::Sealed + Send + Sync + 'static {
    #[doc(hidden)]
    fn begin(backend: Backend) -> &'static str;
}

impl Mode for Read {
    fn begin(backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

impl Mode for Write {
    fn begin(backend: Backend) -> &'static str {
        match backend {
            // Takes the write lock at once: a deferred transaction that reads first and then
            // writes could find its snapshot outdated and fail instead of waiting.
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }
}

/// Connection pools plus the audit group committer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    audit: group_commit::Sender,
}

impl Store {
    /// Connects to `sqlite://path?mode=rwc` or `postgres://…` with the server's defaults.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, opts: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let options = AnyConnectOptions::from_str(url)?;
        let (reader, writer) = match backend {
            Backend::Sqlite => {
                let wait_ms = opts.wait.as_millis();
                let max_pages = opts.max_size_bytes.map(|b| format!(" PRAGMA max_page_count = {};", (b / 4096).max(1)));
                // `wal_autocheckpoint` at 64 MB of log instead of 4 MB: a historical import's chunks
                // rewrite the same index pages, and a page rewritten by several chunks is copied
                // back to the database once per checkpoint (measured: a tenth less writing time
                // in a 1M-row import).
                let writer_setup = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {wait_ms}; \
                     PRAGMA synchronous = FULL; PRAGMA cache_size = -32768; PRAGMA journal_size_limit = 67108864; \
                     PRAGMA wal_autocheckpoint = 16384;{}",
                    max_pages.unwrap_or_default()
                );
                let reader_setup = format!(
                    "PRAGMA query_only = ON; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {wait_ms}; \
                     PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456;"
                );
                if opts.read_only {
                    let reader = sqlite_pool(opts.connections, opts.wait, reader_setup).connect_with(options).await?;
                    (reader.clone(), reader)
                } else {
                    // The writer first: it creates the file and switches it to WAL.
                    let writer = sqlite_pool(1, opts.wait, writer_setup).connect_with(options.clone()).await?;
                    let reader = sqlite_pool(opts.connections, opts.wait, reader_setup).connect_with(options).await?;
                    restart_wal_regularly(writer.clone(), wait_ms);
                    (reader, writer)
                }
            }
            Backend::Postgres => {
                // No JIT compilation: PostgreSQL compiles any plan estimated above
                // `jit_above_cost`, and the person search's custom plans (the first five
                // executions on each connection) cost 65–70 ms each, 60 of them compiling —
                // against 5.5 ms for the same search without it. Our statements are short
                // lookups; reports are computed from the in-memory extract, not in SQL.
                let pool = AnyPoolOptions::new()
                    .max_connections(opts.connections)
                    .acquire_timeout(opts.wait)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET jit = off").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let audit = group_commit::start(writer.clone(), backend);
        Ok(Store { inner: Arc::new(Inner { reader, writer, backend, audit }) })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Applies the embedded migrations of this engine; safe to call at every start.
    pub async fn migrate(&self) -> Result<usize> {
        crate::migrate::run(&self.inner.writer, self.inner.backend).await
    }

    /// A read-only snapshot on its own connection: never waits for a writer.
    pub async fn read(&self) -> Result<Tx<Read>> {
        Tx::begin(&self.inner.reader, self.inner.backend).await
    }

    /// A transaction that may write. Every use case that changes data runs in exactly one.
    pub async fn write(&self) -> Result<Tx<Write>> {
        Tx::begin(&self.inner.writer, self.inner.backend).await
    }

    /// Appends an audit entry through the group committer: the entries of many concurrent
    /// reads share one write transaction. Returns once the entry is durably stored.
    pub async fn audit(&self, entry: AuditEntry) -> Result<()> {
        self.inner.audit.append(entry).await
    }

    /// Whether the database can take a write now (for `/readyz`): within the usual wait, a
    /// write that allocates and frees 64 KiB commits. A full disk, a read-only file or server,
    /// a writer stuck elsewhere or an unreachable server all fail it.
    pub async fn ready(&self) -> Result<()> {
        let mut tx = self.write().await?;
        let fill = match self.inner.backend {
            Backend::Sqlite => "UPDATE installation SET checked_at = $1, probe = zeroblob(65536)",
            Backend::Postgres => "UPDATE installation SET checked_at = $1, probe = decode(repeat('00', 65536), 'hex')",
        };
        sqlx::query(fill).bind(crate::rows::now()).execute(tx.conn()).await?;
        sqlx::query("UPDATE installation SET probe = NULL").execute(tx.conn()).await?;
        tx.commit().await
    }

    /// Writes a consistent copy of an SQLite database to `dest` (which must not exist) while
    /// the application keeps writing: `VACUUM INTO` reads one snapshot on a reader connection,
    /// so neither readers nor the writer wait for it.
    pub async fn backup_sqlite(&self, dest: &std::path::Path) -> Result<()> {
        if self.inner.backend != Backend::Sqlite {
            return Err(StoreError::UnsupportedUrl("online backup by copy is for SQLite; use pg_dump".into()));
        }
        let target = dest.to_str().ok_or_else(|| StoreError::Corrupt(format!("path {dest:?} is not UTF-8")))?;
        // A reader connection, so the copy is one snapshot taken without the write lock; it
        // must be allowed to write the new file for the duration, and is closed afterwards
        // rather than returned to the pool of read-only connections.
        let mut conn = self.inner.reader.acquire().await?;
        let copied = async {
            conn.execute("PRAGMA query_only = OFF").await?;
            conn.execute(format!("VACUUM INTO '{}'", target.replace('\'', "''")).as_str()).await
        }
        .await;
        let _ = conn.close().await;
        copied?;
        Ok(())
    }

    /// SQLite's own check of the file's structure ("ok" when sound).
    pub async fn integrity_check(&self) -> Result<String> {
        let sql = match self.inner.backend {
            Backend::Sqlite => "PRAGMA integrity_check",
            Backend::Postgres => "SELECT 'ok'",
        };
        Ok(sqlx::query_scalar(sql).fetch_one(&self.inner.reader).await?)
    }

    /// The database's size in bytes (pages in use, WAL included, on SQLite).
    pub async fn size_bytes(&self) -> Result<i64> {
        let sql = match self.inner.backend {
            Backend::Sqlite => {
                "SELECT CAST(page_count * page_size AS BIGINT) FROM pragma_page_count(), pragma_page_size()"
            }
            Backend::Postgres => "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
        };
        Ok(sqlx::query_scalar(sql).fetch_one(&self.inner.reader).await?)
    }

    pub async fn close(&self) {
        self.inner.reader.close().await;
        self.inner.writer.close().await;
    }

    pub(crate) fn reader_pool(&self) -> &AnyPool {
        &self.inner.reader
    }

    pub(crate) fn writer_pool(&self) -> &AnyPool {
        &self.inner.writer
    }
}

fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(crate::redact(url)))
    }
}

/// Under a steady stream of reads the WAL is never free of readers, so SQLite's automatic
/// (passive) checkpoints copy pages back but never start the log over: the WAL grows without
/// end and every read looks pages up in an ever larger index (measured: 30–110 MB after a few
/// minutes at 300–500 req/s, p99 three times higher). Every two seconds the writer asks for a
/// RESTART checkpoint, which lets the log start again from its beginning; `journal_size_limit`
/// then keeps the file small. It waits for the readers of the moment at most 50 ms (not the
/// usual busy timeout: the writer is held meanwhile), and simply tries again later when
/// readers — of this process or another, such as a CLI report — are still there.
fn restart_wal_regularly(writer: AnyPool, busy_ms: u128) {
    tokio::spawn(async move {
        let period = Duration::from_secs(2);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let restore = format!("PRAGMA busy_timeout = {busy_ms}");
        loop {
            tick.tick().await;
            if writer.is_closed() {
                return;
            }
            // Only when the writer is free this instant: never queued behind (or ahead of) a write.
            let Some(mut conn) = writer.try_acquire() else { continue };
            for sql in ["PRAGMA busy_timeout = 50", "PRAGMA wal_checkpoint(RESTART)", restore.as_str()] {
                if let Err(e) = sqlx::query(sql).fetch_all(&mut *conn).await {
                    tracing::debug!(error = %e, "WAL checkpoint skipped");
                }
            }
        }
    });
}

fn sqlite_pool(max: u32, wait: Duration, setup: String) -> AnyPoolOptions {
    let setup = Arc::new(setup);
    // No ping before handing out a connection: an SQLite connection is an open file, it cannot
    // go stale like a network connection, and the ping is a round trip to the connection's
    // thread on every transaction (two thread switches, a tenth of a simple request's CPU).
    AnyPoolOptions::new().max_connections(max).acquire_timeout(wait).test_before_acquire(false).after_connect(
        move |conn, _| {
            let setup = setup.clone();
            Box::pin(async move {
                conn.execute(setup.as_str()).await?;
                Ok(())
            })
        },
    )
}

/// One unit of work: committed all together or not at all.
///
/// Begins and ends with plain SQL on a pooled connection rather than sqlx's `Transaction`, so
/// that a connection whose COMMIT failed (disk full, I/O error) is closed instead of going
/// back to the pool in a state nobody knows.
pub struct Tx<M: Mode = Write> {
    conn: Option<PoolConnection<Any>>,
    pub(crate) backend: Backend,
    /// Derived data to rewrite before a write commits (see `derived`).
    pub(crate) stale: crate::derived::Stale,
    _mode: PhantomData<M>,
}

impl<M: Mode> Tx<M> {
    pub(crate) async fn begin(pool: &AnyPool, backend: Backend) -> Result<Self> {
        let mut conn = pool.acquire().await.map_err(StoreError::from)?;
        if let Err(e) = conn.execute(M::begin(backend)).await {
            let _ = conn.close().await;
            return Err(StoreError::from(e));
        }
        Ok(Tx { conn: Some(conn), backend, stale: Default::default(), _mode: PhantomData })
    }

    async fn finish(mut self) -> Result<()> {
        let Some(mut conn) = self.conn.take() else { return Ok(()) };
        match conn.execute("COMMIT").await {
            Ok(_) => Ok(()),
            Err(e) => {
                // The connection's state is unknown after a failed COMMIT (SQLite may or may
                // not have rolled back): never reuse it.
                let _ = conn.close().await;
                Err(StoreError::from(e))
            }
        }
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.conn.as_deref_mut().expect("a transaction is used only until commit, which consumes it")
    }
}

impl Tx<Write> {
    /// Rewrites what the transaction made stale (report facts), then makes it all durable.
    pub async fn commit(mut self) -> Result<()> {
        self.refresh_stale().await?;
        self.finish().await
    }
}

impl Tx<Read> {
    /// Ends the snapshot.
    pub async fn commit(self) -> Result<()> {
        self.finish().await
    }
}

impl<M: Mode> Drop for Tx<M> {
    /// Rolls back what was not committed. The rollback runs on the runtime; a connection that
    /// cannot roll back is closed rather than returned to the pool.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if conn.execute("ROLLBACK").await.is_err() {
                        let _ = conn.close().await;
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Unavailable;

    async fn temp_store(opts: StoreOptions) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("percorsi-engine-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/e.db?mode=rwc", dir.display());
        (Store::connect_with(&url, opts).await.unwrap(), dir)
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    }

    #[tokio::test]
    async fn readers_cannot_write_and_the_writer_keeps_its_limits() {
        let (store, dir) = temp_store(StoreOptions { max_size_bytes: Some(40 * 4096), ..Default::default() }).await;
        let mut w = store.write().await.unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA max_page_count").fetch_one(w.conn()).await.unwrap();
        assert_eq!(pages, 40);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(w.conn()).await.unwrap();
        assert_eq!(mode, "wal");
        sqlx::query("CREATE TABLE t (x BLOB)").execute(w.conn()).await.unwrap();
        w.commit().await.unwrap();

        let mut r = store.read().await.unwrap();
        let only: i64 = sqlx::query_scalar("PRAGMA query_only").fetch_one(r.conn()).await.unwrap();
        assert_eq!(only, 1);
        let e = sqlx::query("INSERT INTO t VALUES (x'00')").execute(r.conn()).await.unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Unavailable(Unavailable::ReadOnly, _)));
        drop(r);

        // Past the cap, the write fails as "disk full" and the next one works on a fresh connection.
        let mut w = store.write().await.unwrap();
        let e = sqlx::query("INSERT INTO t VALUES (zeroblob(1000000))").execute(w.conn()).await.unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Unavailable(Unavailable::DiskFull, _)), "disk full");
        drop(w);
        let mut w = store.write().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (x'01')").execute(w.conn()).await.unwrap();
        w.commit().await.unwrap();
        store.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
