//! The PostgreSQL backend: a connection pool, set-based chunk I/O (`= ANY($1)`, `UNNEST`), row and advisory locks taken in a fixed order.
#![forbid(unsafe_code)]

mod chunks;
mod failed;
mod jobs;
mod listener;
mod tenants;
mod transactions;
mod webhooks;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use domain::settings::ProgramSettings;
use domain::{ChunkItems, Outcome};
use std::time::Duration;
use store::*;
use time::OffsetDateTime;
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
}

/// A database error: the server refusing new connections or gone (53300
/// too many connections, 57P01–57P03 shutting down or starting, a closed
/// socket) is `Unavailable`; a cancelled statement (57014) ran past its time
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

/// A non-negative `INTEGER` column as a count.
pub(crate) fn count(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl PostgresStore {
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
        let store = PostgresStore {
            pool: pool(settings.max_connections.max(2), settings.acquire_timeout)?,
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

#[async_trait]
impl Reachable for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let probe = self.probe.get().await.map_err(pooled)?;
        tokio::time::timeout(PROBE_WAIT, probe.execute("SELECT 1", &[]))
            .await
            .map_err(|_| StoreError::Unavailable("the database did not answer in time".into()))?
            .map_err(pg)?;
        Ok(())
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        let status = self.pool.status();
        let pool = PoolGauges {
            in_use: status.size.saturating_sub(status.available) as u64,
            idle: status.available as u64,
            max: status.max_size as u64,
        };
        let queued: i64 = self
            .client()
            .await?
            .query_one(store::rows::QUEUED_ITEMS, &[])
            .await
            .map_err(pg)?
            .get(0);
        Ok(StoreGauges {
            queued_items: u64::try_from(queued).unwrap_or(0),
            pool: Some(pool),
            writer_queue: None,
        })
    }
}

#[async_trait]
impl TenantStore for PostgresStore {
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        tenants::create(&self.client().await?, &tenant, now).await
    }

    async fn create_first_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        tenants::create_first(&mut self.client().await?, &tenant, now).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        tenants::list(&self.client().await?).await
    }

    async fn rotate_secret(&self, name: &str, secret_hash: String) -> Result<(), StoreError> {
        tenants::rotate_secret(&self.client().await?, name, &secret_hash).await
    }

    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        tenants::by_apikey(&self.client().await?, apikey).await
    }

    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
        tenants::settings(&self.client().await?, tenant).await
    }

    async fn end_session(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        tenants::end_session(&self.client().await?, nonce, expires_at).await
    }

    async fn session_ended(&self, nonce: &str) -> Result<bool, StoreError> {
        tenants::session_ended(&self.client().await?, nonce).await
    }

    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError> {
        tenants::settings_by_name(&self.client().await?, name).await
    }

    async fn set_tenant_settings(
        &self,
        name: &str,
        settings: ProgramSettings,
    ) -> Result<(), StoreError> {
        tenants::set_settings(&self.client().await?, name, &settings).await
    }
}

#[async_trait]
impl JobStore for PostgresStore {
    async fn create_job(&self, job: NewJob) -> Result<JobCreation, StoreError> {
        jobs::create(&mut self.client().await?, &job).await
    }

    async fn job(&self, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError> {
        jobs::get(&self.client().await?, tenant, job).await
    }

    async fn jobs_by_id(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
        jobs::by_id(&self.client().await?, jobs).await
    }

    async fn job_with_results(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
        jobs::get_with_results(&mut self.client().await?, tenant, job).await
    }

    async fn list_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> Result<Vec<JobRecord>, StoreError> {
        jobs::list(&self.client().await?, tenant, filter).await
    }

    async fn stop_job(
        &self,
        tenant: TenantId,
        job: JobId,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<StopOutcome, StoreError> {
        jobs::stop(&mut self.client().await?, tenant, job, now, retention).await
    }

    async fn retry_failed(
        &self,
        tenant: TenantId,
        job: JobId,
        queue_limit: u64,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, StoreError> {
        failed::retry_failed(&mut self.client().await?, tenant, job, queue_limit, now).await
    }

    async fn failed_items(
        &self,
        tenant: TenantId,
        job: JobId,
        range: std::ops::Range<u32>,
    ) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
        failed::failed_items(&mut self.client().await?, tenant, job, range).await
    }

    async fn throughput(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        jobs::throughput(&self.client().await?, tenant, since).await
    }
}

#[async_trait]
impl EngineStore for PostgresStore {
    fn job_wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.wakeups.clone())
    }

    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        jobs::claim(&mut self.client().await?, now, lease).await
    }

    async fn renew_lease(&self, fence: Fence, until: OffsetDateTime) -> Result<bool, StoreError> {
        jobs::renew_lease(&self.client().await?, fence, until).await
    }

    async fn release_job(&self, fence: Fence) -> Result<(), StoreError> {
        jobs::release(&self.client().await?, fence).await
    }

    async fn fail_job(
        &self,
        fence: Fence,
        reason: &str,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        jobs::fail(&mut self.client().await?, fence, reason, now, retention).await
    }

    async fn load_items(
        &self,
        job: JobId,
        from: u32,
        count: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        jobs::load_items(&self.client().await?, job, from, count).await
    }

    #[tracing::instrument(name = "store", skip_all, fields(job.id = fence.job_id, chunk.first_index = work.from))]
    async fn apply_chunk(
        &self,
        fence: Fence,
        work: ChunkWork,
    ) -> Result<ChunkCommitted, StoreError> {
        chunks::apply_chunk(&mut self.client().await?, fence, work).await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        jobs::purge_expired(&self.client().await?, now).await
    }
}

#[async_trait]
impl CustomerStore for PostgresStore {
    async fn apply_single(
        &self,
        tenant: TenantId,
        item: ChunkItems,
        now: OffsetDateTime,
    ) -> Result<Outcome, StoreError> {
        chunks::apply_single(&mut self.client().await?, tenant, item, now).await
    }

    async fn customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<CustomerView>, StoreError> {
        chunks::customer(&self.client().await?, tenant, customer_id).await
    }

    async fn hold(
        &self,
        tenant: TenantId,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<HoldRecord>, StoreError> {
        chunks::hold(&self.client().await?, tenant, reference, now).await
    }

    async fn movements(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Vec<MovementRow>, StoreError> {
        chunks::movements(&self.client().await?, tenant, customer_id).await
    }

    async fn list_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<Vec<ListedMovement>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.listing(&mut client).await?;
        let rows = transactions::list(&tx, tenant, filter).await?;
        tx.commit().await.map_err(pg)?;
        Ok(rows)
    }

    async fn count_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = self.listing(&mut client).await?;
        let n = transactions::count(&tx, tenant, filter).await?;
        tx.commit().await.map_err(pg)?;
        Ok(n)
    }

    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<bool, StoreError> {
        chunks::delete_customer(&mut self.client().await?, tenant, customer_id).await
    }
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_webhook(
        &self,
        tenant: TenantId,
        webhook: NewWebhook,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError> {
        webhooks::create(&mut self.client().await?, tenant, &webhook, max, now).await
    }

    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError> {
        webhooks::list(&self.client().await?, tenant).await
    }

    async fn delete_webhook(&self, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
        webhooks::delete(&self.client().await?, tenant, webhook).await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        webhook: i64,
        filter: DeliveryFilter,
    ) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
        webhooks::deliveries(&self.client().await?, tenant, webhook, filter).await
    }

    async fn retry_delivery(
        &self,
        tenant: TenantId,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        webhooks::retry(&self.client().await?, tenant, webhook, delivery, now).await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limits: ClaimLimits,
    ) -> Result<Vec<DeliveryClaim>, StoreError> {
        webhooks::claim(&self.client().await?, now, lease, limits).await
    }

    async fn record_attempts(
        &self,
        reports: Vec<AttemptReport>,
        backoff: domain::webhooks::EndpointBackoff,
    ) -> Result<(), StoreError> {
        if reports.is_empty() {
            return Ok(());
        }
        webhooks::record(&mut self.client().await?, &reports, backoff).await
    }
}
