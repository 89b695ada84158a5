//! The embedded SQLite backend: one writer connection (WAL, `synchronous=FULL`), a pool of readers, blocking work off the async threads.
#![forbid(unsafe_code)]

mod backups;
mod checkpoints;
mod chunks;
mod failed;
mod jobs;
mod roles;
mod tenants;
mod transactions;
mod webhooks;
mod writer;

pub use backups::{Restored, partial_name, restore, verify};
pub use checkpoints::ROOM_TO_RESUME;
use checkpoints::spawn_checkpointer;
use writer::Weight;

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::*;

mod migrations;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Shared with every other process that has the database open; a restore
    /// waits for none of them and refuses instead.
    _lock: backups::DatabaseLock,
    writer: writer::Writer,
    readers: Mutex<Vec<Connection>>,
    /// Reads running at once: each holds a connection and its files, so their
    /// number bounds the descriptors the store takes.
    reading: tokio::sync::Semaphore,
    /// Reader connections: kept open between reads, and at most this many reads at once.
    max_readers: std::sync::atomic::AtomicUsize,
    /// The longest a listing may run before it is interrupted (milliseconds).
    listing_timeout_ms: std::sync::atomic::AtomicU64,
    /// Single calls grouped into one writer operation each (started on first use,
    /// on the caller's runtime).
    singles: std::sync::OnceLock<store::singles::Committer>,
}

impl Inner {
    /// Runs `f` on a pooled reader connection (a new one when none is free),
    /// kept open for the next read while the pool has room.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.path, false)?,
        };
        let result = f(&mut conn);
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < self.max_readers.load(std::sync::atomic::Ordering::Relaxed) {
            readers.push(conn);
        }
        result
    }
}

/// Groups of single calls handed to the writer at once: one commits while the
/// next waits in the writer's queue.
const SINGLES_IN_FLIGHT: usize = 2;

/// Single calls one writer operation takes at most.
const SINGLES_GROUP: usize = 64;

/// The writer seen from the single-call committer (weakly: the committer is
/// the store's, and must not keep it open).
struct Groups(std::sync::Weak<Inner>);

impl Groups {
    fn store(&self) -> Result<SqliteStore, StoreError> {
        let inner = self
            .0
            .upgrade()
            .ok_or_else(|| StoreError::Conflict("the SQLite store has been closed".into()))?;
        Ok(SqliteStore { inner })
    }
}

#[async_trait::async_trait]
impl store::singles::GroupCommit for Groups {
    async fn together(
        &self,
        calls: Vec<store::singles::SingleCall>,
    ) -> Result<Vec<Result<domain::Outcome, StoreError>>, StoreError> {
        self.store()?
            .write(move |c| chunks::apply_group(c, calls))
            .await
    }

    async fn alone(&self, call: store::singles::SingleCall) -> Result<domain::Outcome, StoreError> {
        self.store()?
            .write(move |c| chunks::apply_single(c, call.tenant, call.items, call.now))
            .await
    }
}

/// A listing's time limit unless [`SqliteStore::with_listing_timeout`] says otherwise.
const LISTING_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads at once unless [`SqliteStore::with_readers`] says otherwise.
const READERS: usize = 16;

/// Page size of a new database file.
const PAGE_BYTES: i64 = 2048;

/// Address space each connection may map of the database file (pages are shared with the OS cache).
const MMAP_BYTES: i64 = 1 << 30;

/// The WAL file's size kept after a checkpoint resets it (bytes).
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// `sqlite://./loyalbatch.db`, `sqlite:///abs/path.db` or `sqlite:relative.db` → the file path.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or(rest);
    (!rest.is_empty()).then(|| PathBuf::from(rest))
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return StoreError::StorageFull;
    }
    StoreError::other(e)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::other)?;
        }
        let lock = backups::DatabaseLock::shared(&path)?;
        let mut writer = open_connection(&path, true)?;
        let runner = embedded::migrations::runner();
        migrations::renumber_history(&writer, &runner)?;
        runner.run(&mut writer).map_err(StoreError::other)?;
        // Checkpoints run on a thread of their own instead of inside whichever
        // commit crosses the WAL threshold: the writer's critical section stays short.
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(sql_err)?;
        // When a checkpoint has copied everything back, the next writer restarts the
        // WAL from its start and cuts the file down to this size.
        writer
            .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
            .map_err(sql_err)?;
        let inner = Arc::new(Inner {
            path: path.clone(),
            _lock: lock,
            writer: writer::Writer::start(writer)?,
            readers: Mutex::new(Vec::new()),
            reading: tokio::sync::Semaphore::new(READERS),
            max_readers: std::sync::atomic::AtomicUsize::new(READERS),
            listing_timeout_ms: std::sync::atomic::AtomicU64::new(
                LISTING_TIMEOUT.as_millis() as u64
            ),
            singles: std::sync::OnceLock::new(),
        });
        spawn_checkpointer(&path, Arc::downgrade(&inner))?;
        Ok(SqliteStore { inner })
    }

    /// The same store with listings interrupted past `timeout`.
    pub fn with_listing_timeout(self, timeout: Duration) -> SqliteStore {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.inner
            .listing_timeout_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// The same store with at most `readers` reads at once (at least 1), each
    /// on its own connection; more wait for one to finish. Set before use.
    pub fn with_readers(self, readers: usize) -> SqliteStore {
        let readers = readers.max(1);
        let was = self
            .inner
            .max_readers
            .swap(readers, std::sync::atomic::Ordering::Relaxed);
        if readers > was {
            self.inner.reading.add_permits(readers - was);
        } else {
            self.inner.reading.forget_permits(was - readers);
        }
        self
    }

    /// Runs a listing `f` on a reader, interrupted once it has run for the
    /// listing timeout (`TimedOut`).
    pub(crate) async fn listing<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let timeout = Duration::from_millis(
            self.inner
                .listing_timeout_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        self.read(move |c| {
            let deadline = std::time::Instant::now() + timeout;
            c.progress_handler(1000, Some(move || std::time::Instant::now() > deadline))
                .map_err(sql_err)?;
            let result = f(c);
            c.progress_handler(1000, None::<fn() -> bool>)
                .map_err(sql_err)?;
            match result {
                Err(_) if std::time::Instant::now() > deadline => Err(StoreError::TimedOut),
                other => other,
            }
        })
        .await
    }

    pub fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        let path = path_from_url(url)
            .ok_or_else(|| StoreError::Conflict(format!("not a sqlite:// database URL: {url}")))?;
        SqliteStore::open(path)
    }

    /// Applies a single call in the next group of them (SQLite's writer is one
    /// thread: a group is one operation, its calls' items one chunk).
    pub(crate) async fn apply_single(
        &self,
        call: store::singles::SingleCall,
    ) -> Result<domain::Outcome, StoreError> {
        let committer = self.inner.singles.get_or_init(|| {
            store::singles::committer(
                Arc::new(Groups(Arc::downgrade(&self.inner))),
                SINGLES_IN_FLIGHT,
                SINGLES_GROUP,
            )
        });
        committer.call(call).await
    }

    /// Runs `f` in the writer's next transaction; answers once it is durably committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writer.write(Weight::Short, f).await
    }

    /// Runs a point read `f` (one indexed lookup: a customer, a hold, a tenant,
    /// a job's row) on the calling thread. Answered from the memory map in
    /// microseconds, such a read costs less than the handoff to a blocking
    /// thread that [`SqliteStore::read`] makes (two thread switches and their
    /// wake-ups: with 64 connections reading balances they took ~40 % of the
    /// node's CPU, BENCHMARKS.md). Listings and scans keep `read`.
    pub(crate) async fn read_point<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError>,
    {
        let _permit = self
            .inner
            .reading
            .acquire()
            .await
            .map_err(StoreError::other)?;
        self.inner.with_reader(f)
    }

    /// Runs `f` on a reader connection (WAL readers never block the writer).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let permit = self
            .inner
            .reading
            .acquire()
            .await
            .map_err(StoreError::other)?;
        let result = tokio::task::spawn_blocking(move || inner.with_reader(f))
            .await
            .map_err(StoreError::other)?;
        drop(permit);
        result
    }
}

fn open_connection(path: &Path, writer: bool) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(sql_err)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sql_err)?;
    // WAL lets readers run beside the one writer; FULL makes every commit durable
    // before we answer (SPEC §2): a crash or power loss never loses an accepted job.
    // 2 KiB pages for a new database (an existing one keeps its own): a chunk's
    // ledger items each add an entry to the movements' by-customer index,
    // scattered over it, and each dirty page is written whole to the WAL and
    // again at checkpoint. Measured against 4 KiB: redeem +40 %, customer upserts
    // unchanged within noise; 1 KiB gained nothing (BENCHMARKS.md).
    conn.pragma_update(None, "page_size", PAGE_BYTES)
        .map_err(sql_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql_err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql_err)?;
    if writer {
        conn.pragma_update(None, "cache_size", -32_000)
            .map_err(sql_err)?;
        // Each operation of a group commit runs in a savepoint, whose statement
        // journal would otherwise be a temporary file written and truncated per
        // chunk: in memory it costs a copy instead of file-system work.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(sql_err)?;
    }
    // Reads through a memory map instead of a copy per page: with a million
    // customers the tables outgrow the page cache and every chunk reads cold pages.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)
        .map_err(sql_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    rusqlite::vtab::array::load_module(&conn).map_err(sql_err)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listing_past_its_time_limit_is_interrupted_and_the_reader_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db"))
            .unwrap()
            .with_listing_timeout(Duration::from_millis(50));
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                       SELECT count(*) FROM n";
        let slow = store
            .listing(move |c| {
                c.query_row(endless, [], |r| r.get::<_, i64>(0))
                    .map_err(sql_err)
            })
            .await;
        assert!(matches!(slow, Err(StoreError::TimedOut)), "{slow:?}");
        // The reader goes back to the pool without its handler: a read after runs whole.
        let quick = store
            .read(|c| {
                c.query_row(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) \
                     SELECT count(*) FROM n",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(sql_err)
            })
            .await
            .unwrap();
        assert_eq!(quick, 200_000);
    }

    #[test]
    fn urls_name_files() {
        assert_eq!(
            path_from_url("sqlite://./loyalbatch.db"),
            Some(PathBuf::from("./loyalbatch.db"))
        );
        assert_eq!(
            path_from_url("sqlite:///tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            path_from_url("sqlite:data.db"),
            Some(PathBuf::from("data.db"))
        );
        assert_eq!(path_from_url("postgres://x"), None);
        assert_eq!(path_from_url("sqlite://"), None);
    }
}
