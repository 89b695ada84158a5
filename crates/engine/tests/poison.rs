//! A poison item fails alone: whatever panics or errors inside a chunk is traced to its item by splitting the chunk, that item fails with 5000, every other item applies and no worker dies.

use async_trait::async_trait;
use domain::settings::ProgramSettings;
use domain::{ChunkItems, Outcome};
use loyalbatch_engine::{Engine, EngineConfig, Shutdown};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use store::*;
use store_sqlite::SqliteStore;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

/// How the wrapped store misbehaves on a chunk holding customer `poison`.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    Panic,
    Error,
    /// The database is unreachable for the first `n` chunk commits (and pings).
    Outage(u32),
    /// The database answers pings but has no connection free for the first
    /// `n` chunk commits (a busy pool: `Unavailable`).
    Busy(u32),
}

struct Faulty {
    inner: Arc<dyn Store>,
    fault: Fault,
    calls: AtomicU32,
}

impl Faulty {
    fn down(&self) -> bool {
        match self.fault {
            Fault::Outage(n) => self.calls.load(Ordering::SeqCst) < n,
            _ => false,
        }
    }
}

fn poisoned(items: &ChunkItems) -> bool {
    items
        .customer_ids()
        .iter()
        .any(|(id, _)| id.as_str() == "poison")
}

fn outage() -> StoreError {
    StoreError::other(std::io::Error::other("connection refused"))
}

#[async_trait]
impl Reachable for Faulty {
    async fn ping(&self) -> Result<(), StoreError> {
        if self.down() {
            return Err(outage());
        }
        self.inner.ping().await
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        self.inner.gauges().await
    }
}

#[async_trait]
impl TenantStore for Faulty {
    async fn create_tenant(
        &self,
        t: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        self.inner.create_tenant(t, now).await
    }
    async fn create_first_tenant(
        &self,
        t: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.create_first_tenant(t, now).await
    }
    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        self.inner.list_tenants().await
    }
    async fn rotate_secret(&self, name: &str, hash: String) -> Result<(), StoreError> {
        self.inner.rotate_secret(name, hash).await
    }
    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        self.inner.tenant_by_apikey(apikey).await
    }
    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
        self.inner.program_settings(tenant).await
    }
    async fn end_session(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        self.inner.end_session(nonce, expires_at).await
    }
    async fn session_ended(&self, nonce: &str) -> Result<bool, StoreError> {
        self.inner.session_ended(nonce).await
    }
    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError> {
        self.inner.tenant_settings(name).await
    }
    async fn set_tenant_settings(&self, name: &str, s: ProgramSettings) -> Result<(), StoreError> {
        self.inner.set_tenant_settings(name, s).await
    }
}

#[async_trait]
impl JobStore for Faulty {
    async fn create_job(&self, job: NewJob) -> Result<JobCreation, StoreError> {
        self.inner.create_job(job).await
    }
    async fn retry_failed(
        &self,
        tenant: TenantId,
        job: JobId,
        queue_limit: u64,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, StoreError> {
        self.inner.retry_failed(tenant, job, queue_limit, now).await
    }
    async fn throughput(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.inner.throughput(tenant, since).await
    }
    async fn failed_items(
        &self,
        tenant: TenantId,
        job: JobId,
        range: std::ops::Range<u32>,
    ) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
        self.inner.failed_items(tenant, job, range).await
    }
    async fn job(&self, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError> {
        self.inner.job(tenant, job).await
    }
    async fn jobs_by_id(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.jobs_by_id(jobs).await
    }
    async fn job_with_results(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
        self.inner.job_with_results(tenant, job).await
    }
    async fn list_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.list_jobs(tenant, filter).await
    }
    async fn stop_job(
        &self,
        tenant: TenantId,
        job: JobId,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<StopOutcome, StoreError> {
        self.inner.stop_job(tenant, job, now, retention).await
    }
}

#[async_trait]
impl EngineStore for Faulty {
    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        self.inner.claim_job(now, lease).await
    }
    async fn renew_lease(&self, fence: Fence, until: OffsetDateTime) -> Result<bool, StoreError> {
        self.inner.renew_lease(fence, until).await
    }
    async fn release_job(&self, fence: Fence) -> Result<(), StoreError> {
        self.inner.release_job(fence).await
    }
    async fn fail_job(
        &self,
        fence: Fence,
        reason: &str,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        self.inner.fail_job(fence, reason, now, retention).await
    }
    async fn load_items(
        &self,
        job: JobId,
        from: u32,
        count: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        self.inner.load_items(job, from, count).await
    }
    async fn apply_chunk(
        &self,
        fence: Fence,
        work: ChunkWork,
    ) -> Result<ChunkCommitted, StoreError> {
        let outage = self.down();
        let calls = self.calls.fetch_add(1, Ordering::SeqCst);
        if outage {
            return Err(self::outage());
        }
        if let Fault::Busy(n) = self.fault
            && calls < n
        {
            return Err(StoreError::Unavailable("no connection free in time".into()));
        }
        if poisoned(&work.items) {
            match self.fault {
                Fault::Panic => panic!("attempt to add with overflow"),
                Fault::Error => {
                    return Err(StoreError::other(std::io::Error::other(
                        "invalid byte sequence",
                    )));
                }
                Fault::Outage(_) | Fault::Busy(_) => {}
            }
        }
        self.inner.apply_chunk(fence, work).await
    }
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.purge_expired(now).await
    }
}

#[async_trait]
impl CustomerStore for Faulty {
    async fn apply_single(
        &self,
        tenant: TenantId,
        item: ChunkItems,
        now: OffsetDateTime,
    ) -> Result<Outcome, StoreError> {
        self.inner.apply_single(tenant, item, now).await
    }
    async fn customer(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Option<CustomerView>, StoreError> {
        self.inner.customer(tenant, id).await
    }
    async fn hold(
        &self,
        tenant: TenantId,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<HoldRecord>, StoreError> {
        self.inner.hold(tenant, reference, now).await
    }
    async fn movements(&self, tenant: TenantId, id: &str) -> Result<Vec<MovementRow>, StoreError> {
        self.inner.movements(tenant, id).await
    }
    async fn list_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<Vec<ListedMovement>, StoreError> {
        self.inner.list_movements(tenant, filter).await
    }

    async fn count_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<u64, StoreError> {
        self.inner.count_movements(tenant, filter).await
    }

    async fn delete_customer(&self, tenant: TenantId, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_customer(tenant, id).await
    }
}

#[async_trait]
impl WebhookStore for Faulty {
    async fn create_webhook(
        &self,
        tenant: TenantId,
        webhook: NewWebhook,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError> {
        self.inner.create_webhook(tenant, webhook, max, now).await
    }
    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError> {
        self.inner.webhooks(tenant).await
    }
    async fn delete_webhook(&self, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
        self.inner.delete_webhook(tenant, webhook).await
    }
    async fn deliveries(
        &self,
        tenant: TenantId,
        webhook: i64,
        filter: DeliveryFilter,
    ) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
        self.inner.deliveries(tenant, webhook, filter).await
    }
    async fn retry_delivery(
        &self,
        tenant: TenantId,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.inner
            .retry_delivery(tenant, webhook, delivery, now)
            .await
    }
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limits: ClaimLimits,
    ) -> Result<Vec<DeliveryClaim>, StoreError> {
        self.inner.claim_deliveries(now, lease, limits).await
    }
    async fn record_attempts(
        &self,
        reports: Vec<AttemptReport>,
        backoff: domain::webhooks::EndpointBackoff,
    ) -> Result<(), StoreError> {
        self.inner.record_attempts(reports, backoff).await
    }
}

struct Setup {
    store: Arc<dyn Store>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

async fn setup(fault: Fault) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("p.db")).unwrap());
    let tenant = test_support::fixtures::tenant(&*inner, "t").await;
    let store: Arc<dyn Store> = Arc::new(Faulty {
        inner,
        fault,
        calls: AtomicU32::new(0),
    });
    Setup {
        store,
        tenant,
        _dir: dir,
    }
}

/// An events job of `items` customers `c<i>`, with customer `poison` at the given indexes.
async fn submit(s: &Setup, items: usize, poison_at: &[usize]) -> JobId {
    let texts: Vec<String> = (0..items)
        .map(|i| {
            let id = if poison_at.contains(&i) {
                "poison".to_owned()
            } else {
                format!("c{i}")
            };
            format!(r#"{{"customerId":"{id}","events":{{"e":{{}}}}}}"#)
        })
        .collect();
    test_support::fixtures::job(&*s.store, s.tenant, BatchType::Events, &texts).await
}

fn config() -> EngineConfig {
    EngineConfig {
        workers: 2,
        chunk_size: 100,
        poll_interval: Duration::from_millis(5),
        ..EngineConfig::default()
    }
}

async fn finished(s: &Setup, job: JobId) -> (JobRecord, Value) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (record, results) = s
            .store
            .job_with_results(s.tenant, job)
            .await
            .unwrap()
            .unwrap();
        if record.state.is_final() {
            let failed = domain::outcome::join_fragments(results.iter().map(|r| r.failed.as_str()));
            return (record, serde_json::from_str(&failed).unwrap());
        }
        assert!(Instant::now() < deadline, "job never finished: {record:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn customers_exist(s: &Setup, n: usize, except: &[usize]) {
    for i in (0..n).filter(|i| !except.contains(i)) {
        assert!(
            s.store
                .customer(s.tenant, &format!("c{i}"))
                .await
                .unwrap()
                .is_some(),
            "item {i} was applied"
        );
    }
    assert!(
        s.store
            .customer(s.tenant, "poison")
            .await
            .unwrap()
            .is_none()
    );
}

fn assert_isolated(failed: &Value, poison_at: &[usize]) {
    let failed = failed.as_array().unwrap();
    let indexes: Vec<u64> = failed
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = poison_at.iter().map(|i| *i as u64).collect();
    assert_eq!(indexes, expected, "only the poisoned items failed");
    for f in failed {
        assert_eq!(f["code"], 5000);
        assert_eq!(f["customerId"], "poison");
        let message = f["error"].as_str().unwrap();
        assert!(
            message.starts_with("internal error (see server log, requestId "),
            "{message}"
        );
        assert!(
            !message.contains("overflow") && !message.contains("byte sequence"),
            "no internals: {message}"
        );
    }
}

#[tokio::test]
async fn a_panicking_item_fails_alone_and_every_other_item_applies() {
    let s = setup(Fault::Panic).await;
    let poison_at = [0, 137, 138, 999];
    let job = submit(&s, 1000, &poison_at).await;
    let other = submit(&s, 250, &[]).await;
    let shutdown = Shutdown::new();
    let run = tokio::spawn(Engine::new(s.store.clone(), config()).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (996, 4));
    assert_isolated(&failed, &poison_at);
    customers_exist(&s, 1000, &poison_at).await;
    // The workers lived on: the next job ran too.
    let (other, _) = finished(&s, other).await;
    assert_eq!(
        (other.state, other.finished_count),
        (JobState::Completed, 250)
    );
    shutdown.cancel();
    run.await.unwrap();
}

#[tokio::test]
async fn an_item_that_keeps_erroring_fails_alone_once_retries_are_spent() {
    let s = setup(Fault::Error).await;
    let poison_at = [42];
    let job = submit(&s, 300, &poison_at).await;
    let shutdown = Shutdown::new();
    let run = tokio::spawn(Engine::new(s.store.clone(), config()).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (299, 1));
    assert_isolated(&failed, &poison_at);
    customers_exist(&s, 300, &poison_at).await;
    shutdown.cancel();
    run.await.unwrap();
}

#[tokio::test]
async fn an_outage_fails_no_item_the_job_waits_for_the_database() {
    let s = setup(Fault::Outage(6)).await;
    let job = submit(&s, 300, &[]).await;
    let shutdown = Shutdown::new();
    let run = tokio::spawn(Engine::new(s.store.clone(), config()).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (300, 0));
    assert_eq!(failed, serde_json::json!([]));
    shutdown.cancel();
    run.await.unwrap();
}

#[tokio::test]
async fn a_busy_database_fails_no_item_the_chunk_waits_for_a_connection() {
    // Enough refusals to narrow a chunk of 100 down to one item were they
    // taken for a poison item's: a busy pool (the database itself answers) is
    // waited out instead.
    let s = setup(Fault::Busy(40)).await;
    let job = submit(&s, 300, &[]).await;
    let shutdown = Shutdown::new();
    let config = EngineConfig {
        max_backoff: Duration::from_millis(50),
        ..config()
    };
    let run = tokio::spawn(Engine::new(s.store.clone(), config).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (300, 0));
    assert_eq!(failed, serde_json::json!([]));
    shutdown.cancel();
    run.await.unwrap();
}
