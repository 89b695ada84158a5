//! The PostgreSQL backend: a connection pool, set-based chunk I/O (`= ANY($1)`, `UNNEST`), row and advisory locks taken in a fixed order.
#![forbid(unsafe_code)]

mod chunks;
mod failed;
mod jobs;
mod listener;
mod reads;
mod roles;
pub use roles::POSTGRES_BACKUPS;
mod singles;
mod tenants;
mod transactions;
mod webhooks;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use std::time::Duration;
use store::*;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Advisory lock keys (first half: this application).
const LOCK_SPACE: i32 = 0x4C42; // "LB"
const MIGRATIONS_LOCK: i32 = 1;
const FIRST_TENANT_LOCK: i32 = 2;

/// How long `/ready` waits for its probe connection and its answer.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// The channel every node listens on for new jobs.
pub(crate) const JOBS_CHANNEL: &str = "loyalbatch_jobs";

/// How a node uses PostgreSQL's connections.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Connections this node keeps (workers, requests, heartbeats).
    pub max_connections: usize,
    /// The longest a call waits for a free connection; then it is refused
    /// (`Unavailable`, a 503 with `Retry-After`) instead of queueing forever.
    pub acquire_timeout: Duration,
    /// The longest a listing query (`GET /transactions`, its count, a
    /// customer's history) may run before it is cancelled.
    pub listing_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            listing_timeout: Duration::from_secs(10),
        }
    }
}

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// One connection of its own for `/ready`: a probe never queues behind tenants' queries.
    probe: Pool,
    wakeups: std::sync::Arc<tokio::sync::Notify>,
    listing_timeout: Duration,
    /// Single calls, grouped into shared transactions.
    singles: std::sync::Arc<store::singles::Committer>,
    /// Customer reads, grouped into shared queries.
    customers: std::sync::Arc<store::grouped::Batcher<(TenantId, String), Option<CustomerView>>>,
    /// Until when (milliseconds since the epoch) `/ready` says the disk is
    /// full: a write refused for want of space sets it, a chunk committed clears it.
    full_until: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// How long a write refused for want of space keeps `/ready` saying so: the
/// chunks waiting on it retry well within it, so it holds while they wait, and
/// it lapses by itself once nothing is refused any more.
const FULL_REMEMBERED: Duration = Duration::from_secs(10);

/// A database error: the server refusing new connections or gone (53300
/// too many connections, 57P01–57P03 shutting down or starting, a closed
/// socket) is `Unavailable`; a full disk (53100, a table or its WAL could not
/// grow) is `StorageFull`; a cancelled statement (57014) ran past its time
/// limit; anything else is a fault.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    let unavailable = [
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
    ];
    match e.code() {
        Some(code) if *code == SqlState::QUERY_CANCELED => StoreError::TimedOut,
        Some(code) if *code == SqlState::DISK_FULL => StoreError::StorageFull,
        Some(code) if unavailable.contains(code) => StoreError::Unavailable(e.to_string()),
        None if e.is_closed() => StoreError::Unavailable(e.to_string()),
        _ => StoreError::other(e),
    }
}

/// A pool's refusal: no connection in time, or none can be made now.
fn pooled(e: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Timeout(_) => {
            StoreError::Unavailable("no database connection was free in time".to_owned())
        }
        PoolError::Backend(e) => match pg(e) {
            StoreError::Other(e) => StoreError::Unavailable(e.to_string()),
            other => other,
        },
        other => StoreError::other(other),
    }
}

/// Statements of the hot paths (single calls, chunks, balance reads) run
/// through these: each is parsed and planned once per connection (deadpool's
/// statement cache) and after that costs one round trip instead of two.
pub(crate) mod prepared {
    use super::pg;
    use deadpool_postgres::GenericClient;
    use store::StoreError;
    use tokio_postgres::Row;
    use tokio_postgres::types::ToSql;

    pub async fn query(
        c: &impl GenericClient,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let st = c.prepare_cached(sql).await.map_err(pg)?;
        c.query(&st, params).await.map_err(pg)
    }

    pub async fn query_opt(
        c: &impl GenericClient,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let st = c.prepare_cached(sql).await.map_err(pg)?;
        c.query_opt(&st, params).await.map_err(pg)
    }

    pub async fn execute(
        c: &impl GenericClient,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let st = c.prepare_cached(sql).await.map_err(pg)?;
        c.execute(&st, params).await.map_err(pg)
    }
}

/// A non-negative `INTEGER` column as a count.
pub(crate) fn count(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl PostgresStore {
    /// Remembers a write refused for want of space (`/ready` says so for a
    /// while); a committed chunk forgets it.
    pub(crate) fn noted<T>(
        &self,
        result: Result<T, StoreError>,
        chunk: bool,
    ) -> Result<T, StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        match &result {
            Err(StoreError::StorageFull) => {
                let until = store::to_millis(time::OffsetDateTime::now_utc())
                    .saturating_add(FULL_REMEMBERED.as_millis() as i64);
                self.full_until.store(until, Relaxed);
            }
            Ok(_) if chunk => self.full_until.store(0, Relaxed),
            _ => {}
        }
        result
    }

    /// A write was refused for want of space a moment ago.
    pub(crate) fn storage_full(&self) -> bool {
        let now = store::to_millis(time::OffsetDateTime::now_utc());
        self.full_until.load(std::sync::atomic::Ordering::Relaxed) > now
    }

    /// Connects (a pool of `max_connections`, the other settings their
    /// defaults) and applies pending migrations; many processes starting at once
    /// take turns on an advisory lock.
    pub async fn connect(url: &str, max_connections: usize) -> Result<PostgresStore, StoreError> {
        let settings = PoolSettings {
            max_connections,
            ..PoolSettings::default()
        };
        PostgresStore::connect_tuned(url, settings).await
    }

    pub async fn connect_tuned(
        url: &str,
        settings: PoolSettings,
    ) -> Result<PostgresStore, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(StoreError::other)?;
        PostgresStore::connect_with(config, settings).await
    }

    pub async fn connect_with(
        config: tokio_postgres::Config,
        settings: PoolSettings,
    ) -> Result<PostgresStore, StoreError> {
        let wakeups = listener::spawn(config.clone(), JOBS_CHANNEL);
        let pool = |size: usize, wait: Duration| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .wait_timeout(Some(wait))
                .create_timeout(Some(wait))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(StoreError::other)
        };
        let main = pool(settings.max_connections.max(2), settings.acquire_timeout)?;
        let store = PostgresStore {
            customers: std::sync::Arc::new(store::grouped::Batcher::start(
                std::sync::Arc::new(reads::Customers(main.clone())),
                reads::IN_FLIGHT,
                reads::GROUP,
            )),
            singles: std::sync::Arc::new(store::singles::committer(
                std::sync::Arc::new(singles::Groups(main.clone())),
                singles::IN_FLIGHT,
                singles::GROUP,
            )),
            pool: main,
            full_until: std::sync::Arc::default(),
            probe: pool(1, PROBE_WAIT)?,
            wakeups,
            listing_timeout: settings.listing_timeout,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        client
            .execute(
                "SELECT pg_advisory_lock($1, $2)",
                &[&LOCK_SPACE, &MIGRATIONS_LOCK],
            )
            .await
            .map_err(pg)?;
        let result = embedded::migrations::runner()
            .run_async(&mut **client)
            .await
            .map(|_| ())
            .map_err(StoreError::other);
        client
            .execute(
                "SELECT pg_advisory_unlock($1, $2)",
                &[&LOCK_SPACE, &MIGRATIONS_LOCK],
            )
            .await
            .map_err(pg)?;
        result
    }

    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pooled)
    }

    /// A read-only transaction for a listing, cancelled past the listing timeout.
    async fn listing<'a>(
        &self,
        client: &'a mut Object,
    ) -> Result<deadpool_postgres::Transaction<'a>, StoreError> {
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let ms = self.listing_timeout.as_millis().max(1);
        tx.batch_execute(&format!("SET LOCAL statement_timeout = {ms}"))
            .await
            .map_err(pg)?;
        Ok(tx)
    }
}
