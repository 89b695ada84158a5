//! The embedded SQLite backend: one writer connection (WAL, `synchronous=FULL`), a pool of readers, blocking work off the async threads.
#![forbid(unsafe_code)]

mod chunks;
mod jobs;
mod tenants;
mod transactions;
mod webhooks;
mod writer;

use writer::Weight;

use async_trait::async_trait;
use domain::settings::ProgramSettings;
use domain::{ChunkItems, Outcome};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::*;
use time::OffsetDateTime;

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
    writer: writer::Writer,
    readers: Mutex<Vec<Connection>>,
}

/// Page size of a new database file.
const PAGE_BYTES: i64 = 2048;

/// Address space each connection may map of the database file (pages are shared with the OS cache).
const MMAP_BYTES: i64 = 1 << 30;

/// The WAL file's size kept after a checkpoint resets it (bytes).
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// How often the background checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// `sqlite://./loyalbatch.db`, `sqlite:///abs/path.db` or `sqlite:relative.db` → the file path.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or(rest);
    (!rest.is_empty()).then(|| PathBuf::from(rest))
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::other(e)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::other)?;
        }
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
            writer: writer::Writer::start(writer)?,
            readers: Mutex::new(Vec::new()),
        });
        spawn_checkpointer(&path, Arc::downgrade(&inner))?;
        Ok(SqliteStore { inner })
    }

    pub fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        let path = path_from_url(url)
            .ok_or_else(|| StoreError::Conflict(format!("not a sqlite:// database URL: {url}")))?;
        SqliteStore::open(path)
    }

    /// Runs `f` in the writer's next transaction; answers once it is durably committed.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writer.write(Weight::Short, f).await
    }

    /// Runs `f` on a reader connection (WAL readers never block the writer).
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => open_connection(&inner.path, false)?,
            };
            let result = f(&mut conn);
            let mut readers = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if readers.len() < 8 {
                readers.push(conn);
            }
            result
        })
        .await
        .map_err(StoreError::other)?
    }
}

/// Runs passive checkpoints (they never block the writer or readers) until the
/// store is dropped. Once the writer has been idle for a tick with every frame
/// copied back, a `TRUNCATE` checkpoint empties the WAL file, so a burst's WAL
/// does not keep its disk space; it gives up at once (no busy wait) if the
/// writer or a reader is active.
fn spawn_checkpointer(path: &Path, inner: std::sync::Weak<Inner>) -> Result<(), StoreError> {
    let conn = open_connection(path, false)?;
    conn.busy_timeout(Duration::ZERO).map_err(sql_err)?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut last_frames = 0;
            while inner.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                });
                match passive {
                    Ok((frames, copied))
                        if frames > 0 && frames == copied && frames == last_frames =>
                    {
                        // Idle since the last tick and all copied: give the file back.
                        match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                            r.get::<_, i64>(0)
                        }) {
                            Ok(0) => last_frames = 0,
                            Ok(_) => {}
                            Err(e) => tracing::debug!(error = %e, "WAL truncation deferred"),
                        }
                    }
                    Ok((frames, _)) => last_frames = frames,
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        })
        .map_err(StoreError::other)?;
    Ok(())
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

#[async_trait]
impl Reachable for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(sql_err))
            .await
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        let queued: i64 = self
            .read(|c| {
                c.query_row(store::rows::QUEUED_ITEMS, [], |r| r.get(0))
                    .map_err(sql_err)
            })
            .await?;
        Ok(StoreGauges {
            queued_items: u64::try_from(queued).unwrap_or(0),
            pool: None,
            writer_queue: Some(self.inner.writer.queue_depth() as u64),
        })
    }
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        self.write(move |c| tenants::create(c, &tenant, now)).await
    }

    async fn create_first_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write(move |c| tenants::create_first(c, &tenant, now))
            .await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        self.read(tenants::list).await
    }

    async fn rotate_secret(&self, name: &str, secret_hash: String) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |c| tenants::rotate_secret(c, &name, &secret_hash))
            .await
    }

    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        let apikey = apikey.to_owned();
        self.read(move |c| tenants::by_apikey(c, &apikey)).await
    }

    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
        self.read(move |c| tenants::settings(c, tenant)).await
    }

    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError> {
        let name = name.to_owned();
        self.read(move |c| tenants::settings_by_name(c, &name))
            .await
    }

    async fn set_tenant_settings(
        &self,
        name: &str,
        settings: ProgramSettings,
    ) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |c| tenants::set_settings(c, &name, &settings))
            .await
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: NewJob) -> Result<JobCreation, StoreError> {
        self.write(move |c| jobs::create(c, &job)).await
    }

    async fn job(&self, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError> {
        self.read(move |c| jobs::get(c, tenant, job)).await
    }

    async fn jobs_by_id(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
        let jobs = jobs.to_vec();
        self.read(move |c| jobs::by_id(c, &jobs)).await
    }

    async fn job_with_results(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
        self.read(move |c| jobs::get_with_results(c, tenant, job))
            .await
    }

    async fn list_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| jobs::list(c, tenant, &filter)).await
    }

    async fn stop_job(
        &self,
        tenant: TenantId,
        job: JobId,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<StopOutcome, StoreError> {
        self.write(move |c| jobs::stop(c, tenant, job, now, retention))
            .await
    }

    async fn retry_failed(
        &self,
        tenant: TenantId,
        job: JobId,
        queue_limit: u64,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, StoreError> {
        self.write(move |c| jobs::retry_failed(c, tenant, job, queue_limit, now))
            .await
    }

    async fn failed_items(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
        self.read(move |c| jobs::failed_items(c, tenant, job)).await
    }

    async fn throughput(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.read(move |c| jobs::throughput(c, tenant, since)).await
    }
}

#[async_trait]
impl EngineStore for SqliteStore {
    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        self.write(move |c| jobs::claim(c, now, lease)).await
    }

    async fn renew_lease(&self, fence: Fence, until: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(move |c| jobs::renew_lease(c, fence, until))
            .await
    }

    async fn release_job(&self, fence: Fence) -> Result<(), StoreError> {
        self.write(move |c| jobs::release(c, fence)).await
    }

    async fn fail_job(
        &self,
        fence: Fence,
        reason: &str,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        let reason = reason.to_owned();
        self.write(move |c| jobs::fail(c, fence, &reason, now, retention))
            .await
    }

    async fn load_items(
        &self,
        job: JobId,
        from: u32,
        count: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        self.read(move |c| jobs::load_items(c, job, from, count))
            .await
    }

    #[tracing::instrument(name = "store", skip_all, fields(job.id = fence.job_id, chunk.first_index = work.from))]
    async fn apply_chunk(
        &self,
        fence: Fence,
        work: ChunkWork,
    ) -> Result<ChunkCommitted, StoreError> {
        let (committed, spent) = self
            .inner
            .writer
            .write(Weight::Bulk, move |c| chunks::apply_chunk(c, fence, work))
            .await?;
        // The chunk's values are freed here, after the writer lock is released.
        drop(spent);
        Ok(committed)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.write(move |c| jobs::purge_expired(c, now)).await
    }
}

#[async_trait]
impl CustomerStore for SqliteStore {
    async fn apply_single(
        &self,
        tenant: TenantId,
        item: ChunkItems,
        now: OffsetDateTime,
    ) -> Result<Outcome, StoreError> {
        self.write(move |c| chunks::apply_single(c, tenant, item, now))
            .await
    }

    async fn customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<CustomerView>, StoreError> {
        let id = customer_id.to_owned();
        self.read(move |c| chunks::customer(c, tenant, &id)).await
    }

    async fn hold(
        &self,
        tenant: TenantId,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<HoldRecord>, StoreError> {
        let reference = reference.to_owned();
        self.read(move |c| chunks::hold(c, tenant, &reference, now))
            .await
    }

    async fn movements(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Vec<MovementRow>, StoreError> {
        let id = customer_id.to_owned();
        self.read(move |c| chunks::movements(c, tenant, &id)).await
    }

    async fn list_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<Vec<ListedMovement>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| transactions::list(c, tenant, &filter))
            .await
    }

    async fn count_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<u64, StoreError> {
        let filter = filter.clone();
        self.read(move |c| transactions::count(c, tenant, &filter))
            .await
    }

    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<bool, StoreError> {
        let id = customer_id.to_owned();
        self.write(move |c| chunks::delete_customer(c, tenant, &id))
            .await
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        tenant: TenantId,
        webhook: NewWebhook,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError> {
        self.write(move |c| webhooks::create(c, tenant, &webhook, max, now))
            .await
    }

    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError> {
        self.read(move |c| webhooks::list(c, tenant)).await
    }

    async fn delete_webhook(&self, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
        self.write(move |c| webhooks::delete(c, tenant, webhook))
            .await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        webhook: i64,
        filter: DeliveryFilter,
    ) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
        self.read(move |c| webhooks::deliveries(c, tenant, webhook, filter))
            .await
    }

    async fn retry_delivery(
        &self,
        tenant: TenantId,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.write(move |c| webhooks::retry(c, tenant, webhook, delivery, now))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryClaim>, StoreError> {
        self.write(move |c| webhooks::claim(c, now, lease, limit))
            .await
    }

    async fn record_attempts(&self, reports: Vec<AttemptReport>) -> Result<(), StoreError> {
        self.write(move |c| webhooks::record(c, &reports)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
