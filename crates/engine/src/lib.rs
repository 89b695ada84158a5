//! The job engine: workers claim jobs fairly, process them chunk by chunk under a renewed lease, and give them back on shutdown.
#![forbid(unsafe_code)]

use domain::ChunkItems;
use std::sync::Arc;
use std::time::Duration;
use store::{ChunkWork, Claim, Store, StoreError, add};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use tokio_util::sync::CancellationToken as Shutdown;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Jobs processed at the same time by this process. More workers than cores
    /// pays on SQLite: while one chunk commits, the others parse their next chunk.
    pub workers: usize,
    /// Items per chunk transaction.
    pub chunk_size: u32,
    /// How long a claim holds without renewal (SPEC §3.5, default 30 s).
    pub lease: Duration,
    /// How often an idle worker looks for work it was not woken for.
    pub poll_interval: Duration,
    /// How long finished jobs and their results are kept.
    pub retention: Duration,
    /// How often expired jobs are purged.
    pub purge_interval: Duration,
    /// Consecutive failures of one chunk after which the job is failed.
    pub chunk_attempts: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 4,
            chunk_size: 1000,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            retention: Duration::from_secs(30 * 24 * 3600),
            purge_interval: Duration::from_secs(60),
            chunk_attempts: 10,
        }
    }
}

/// Wakes idle workers when a job arrives.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn job_created(&self) {
        self.0.notify_one();
    }
}

#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    config: EngineConfig,
    waker: Waker,
}

/// How a job's run ended on this worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunEnd {
    Finished,
    /// The job could not run on (see its `error`).
    Failed,
    /// Stopped, taken over, or the lease was lost.
    Fenced,
    /// Shutdown asked us to let go.
    Released,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, config: EngineConfig) -> Engine {
        Engine {
            store,
            config,
            waker: Waker::default(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Runs the workers and the retention purge until `shutdown`; each worker
    /// finishes or releases its current chunk before the returned future completes.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        for worker in 0..self.config.workers.max(1) {
            let engine = self.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(async move { engine.worker_loop(worker, shutdown).await });
        }
        let engine = self.clone();
        let purge_shutdown = shutdown.clone();
        tasks.spawn(async move { engine.purge_loop(purge_shutdown).await });
        while tasks.join_next().await.is_some() {}
        info!("engine stopped");
    }

    /// Processes runnable jobs until none is left (for tests and tools that want
    /// the queue drained deterministically). Returns how many job runs it made.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let never = CancellationToken::new();
        let mut runs = 0;
        while let Some(claim) = self
            .store
            .claim_job(OffsetDateTime::now_utc(), self.config.lease)
            .await?
        {
            self.run_job(claim, &never).await;
            runs += 1;
        }
        Ok(runs)
    }

    async fn worker_loop(&self, worker: usize, shutdown: CancellationToken) {
        let mut backoff = Backoff::default();
        while !shutdown.is_cancelled() {
            match self
                .store
                .claim_job(OffsetDateTime::now_utc(), self.config.lease)
                .await
            {
                Ok(Some(claim)) => {
                    backoff.reset();
                    debug!(worker, job = claim.fence.job_id, "claimed");
                    self.run_job(claim, &shutdown).await;
                }
                Ok(None) => {
                    let other_processes = self.store.job_wakeups();
                    let from_elsewhere = async {
                        match &other_processes {
                            Some(notify) => notify.notified().await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = self.waker.0.notified() => {}
                        _ = from_elsewhere => {}
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
                Err(e) => {
                    warn!(worker, error = %e, "claiming a job failed");
                    backoff.wait(&shutdown).await;
                }
            }
        }
    }

    async fn run_job(&self, claim: Claim, shutdown: &CancellationToken) -> RunEnd {
        let fence = claim.fence;
        let lost = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            self.store.clone(),
            fence,
            self.config.lease,
            lost.clone(),
        ));
        let end = self.chunk_loop(&claim, shutdown, &lost).await;
        heartbeat.abort();
        if end == RunEnd::Released
            && let Err(e) = self.store.release_job(fence).await
        {
            warn!(job = fence.job_id, error = %e, "releasing the job failed; its lease will lapse");
        }
        debug!(job = fence.job_id, ?end, "job run ended");
        end
    }

    async fn chunk_loop(
        &self,
        claim: &Claim,
        shutdown: &CancellationToken,
        lost: &CancellationToken,
    ) -> RunEnd {
        let fence = claim.fence;
        let mut cursor = claim.cursor;
        let mut backoff = Backoff::default();
        let mut failures = 0;
        loop {
            if lost.is_cancelled() {
                return RunEnd::Fenced;
            }
            if shutdown.is_cancelled() {
                return RunEnd::Released;
            }
            let outcome = match self.next_chunk(claim, cursor).await {
                Ok(Some(items)) => {
                    let now = OffsetDateTime::now_utc();
                    let work = ChunkWork {
                        tenant_id: claim.tenant_id,
                        from: cursor,
                        items,
                        now,
                        retention: self.config.retention,
                        lease_until: add(now, self.config.lease),
                    };
                    self.store.apply_chunk(fence, work).await
                }
                // No items left to read: the job was stopped (its items are dropped).
                Ok(None) => return RunEnd::Fenced,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(committed) => {
                    backoff.reset();
                    failures = 0;
                    cursor = committed.cursor;
                    if let Some(state) = committed.finished {
                        info!(job = fence.job_id, %state, "job finished");
                        return RunEnd::Finished;
                    }
                }
                Err(StoreError::Fenced) => return RunEnd::Fenced,
                Err(e) => {
                    failures += 1;
                    warn!(job = fence.job_id, cursor, failures, error = %e, "a chunk failed");
                    if failures >= self.config.chunk_attempts {
                        // A chunk that keeps failing must not hold a worker forever.
                        // The cause stays in the log; the tenant sees where it stopped.
                        let reason = format!(
                            "an internal error stopped the job at item {cursor}; the items before it were applied"
                        );
                        return self.fail(claim, &reason).await;
                    }
                    backoff.wait(shutdown).await;
                }
            }
        }
    }

    async fn fail(&self, claim: &Claim, reason: &str) -> RunEnd {
        let fence = claim.fence;
        let now = OffsetDateTime::now_utc();
        match self
            .store
            .fail_job(fence, reason, now, self.config.retention)
            .await
        {
            Ok(true) => warn!(job = fence.job_id, reason, "job failed"),
            Ok(false) => {}
            Err(e) => {
                warn!(job = fence.job_id, error = %e, "marking the job failed did not work; its lease will lapse")
            }
        }
        RunEnd::Failed
    }

    async fn next_chunk(
        &self,
        claim: &Claim,
        cursor: u32,
    ) -> Result<Option<ChunkItems>, StoreError> {
        let raw = self
            .store
            .load_items(claim.fence.job_id, cursor, self.config.chunk_size)
            .await?;
        if raw.is_empty() {
            return Ok(None);
        }
        let batch_type = claim.batch_type;
        // Parsing a thousand items is CPU work: keep it off the async threads.
        tokio::task::spawn_blocking(move || {
            ChunkItems::parse(batch_type, raw.iter().map(|(i, t)| (*i, t.as_str())))
        })
        .await
        .map(Some)
        .map_err(StoreError::other)
    }

    async fn purge_loop(&self, shutdown: CancellationToken) {
        loop {
            match self.store.purge_expired(OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(n) => info!(jobs = n, "purged expired jobs"),
                Err(e) => warn!(error = %e, "purging expired jobs failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.purge_interval) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

/// Renews the lease every third of its length; cancels `lost` when the fence broke.
async fn heartbeat(
    store: Arc<dyn Store>,
    fence: store::Fence,
    lease: Duration,
    lost: CancellationToken,
) {
    let every = lease / 3;
    loop {
        tokio::time::sleep(every).await;
        match store
            .renew_lease(fence, add(OffsetDateTime::now_utc(), lease))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                debug!(job = fence.job_id, "lease lost (stopped or taken over)");
                lost.cancel();
                return;
            }
            Err(e) => warn!(job = fence.job_id, error = %e, "renewing the lease failed"),
        }
    }
}

/// Exponential backoff for transient store errors: 50 ms doubling to 5 s.
#[derive(Default)]
struct Backoff {
    attempts: u32,
}

impl Backoff {
    fn reset(&mut self) {
        self.attempts = 0;
    }

    async fn wait(&mut self, shutdown: &CancellationToken) {
        let delay =
            Duration::from_millis(50u64 << self.attempts.min(7)).min(Duration::from_secs(5));
        self.attempts += 1;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}
