//! The job engine: workers claim jobs fairly, process them chunk by chunk under a renewed lease, and give them back on shutdown.
#![forbid(unsafe_code)]

use domain::{ChunkItems, ErrorCode, ItemFailure};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use store::{ChunkWork, Claim, EngineStore, StoreError, add};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, instrument, warn};

pub mod metrics;
pub mod webhooks;

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
    store: Arc<dyn EngineStore>,
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
    pub fn new(store: Arc<dyn EngineStore>, config: EngineConfig) -> Engine {
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
                    let job = claim.fence.job_id;
                    debug!(worker, job, "claimed");
                    if claim.taken_over {
                        info!(worker, job, "took over a job whose lease had lapsed");
                        metrics::lease_taken_over(claim.tenant_id, claim.batch_type);
                    }
                    let span = info_span!("job", job.id = job, tenant = claim.tenant_id, r#type = %claim.batch_type);
                    // Chunks catch their own panics; this catches the engine's, so a
                    // worker never dies. The job's lease then lapses and it is taken over.
                    if AssertUnwindSafe(self.run_job(claim, &shutdown).instrument(span))
                        .catch_unwind()
                        .await
                        .is_err()
                    {
                        error!(worker, job, "a job run panicked; its lease will lapse");
                    }
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
        // The heartbeat runs in this task, not a task of its own: a lease is renewed
        // only while the worker that holds it is alive.
        let end = tokio::select! {
            end = self.chunk_loop(&claim, shutdown, &lost) => end,
            never = heartbeat(self.store.clone(), fence, self.config.lease, lost.clone()) => match never {},
        };
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
        // While a failing range is searched for its guilty item, chunks are narrowed.
        let mut isolation = Isolation::new(self.config.chunk_size);
        loop {
            if lost.is_cancelled() {
                return RunEnd::Fenced;
            }
            if shutdown.is_cancelled() {
                return RunEnd::Released;
            }
            let size = isolation.chunk_size(cursor);
            let (count, outcome) = match self.store.load_items(fence.job_id, cursor, size).await {
                // No items left to read: the job was stopped (its items are dropped).
                Ok(raw) if raw.is_empty() => return RunEnd::Fenced,
                Ok(raw) => {
                    let count = raw.len() as u32;
                    let outcome = match parse(claim.batch_type, raw).await {
                        Ok(items) => self.apply(claim, cursor, items).await,
                        Err(e) => Err(e),
                    };
                    (count, outcome)
                }
                // The items could not even be read: there is nothing to isolate.
                Err(e) => (0, Err(e)),
            };
            let error = match outcome {
                Ok(committed) => {
                    backoff.reset();
                    failures = 0;
                    cursor = committed.cursor;
                    if let Some(state) = committed.finished {
                        info!(job = fence.job_id, %state, "job finished");
                        return RunEnd::Finished;
                    }
                    continue;
                }
                Err(StoreError::Fenced) => return RunEnd::Fenced,
                Err(e) => e,
            };
            failures += 1;
            warn!(job = fence.job_id, cursor, items = count, failures, error = %error, "a chunk failed");
            // A panic is deterministic: search for its item at once. Another error may
            // be passing (a lost connection): retry first, and search only while the
            // database answers, so an outage never fails good items.
            let deterministic = matches!(error, StoreError::Panicked(_));
            if !deterministic && failures < RETRIES_BEFORE_ISOLATING {
                metrics::chunk_retried(claim.tenant_id, claim.batch_type);
                backoff.wait(shutdown).await;
                continue;
            }
            if !deterministic && self.store.ping().await.is_err() {
                metrics::chunk_retried(claim.tenant_id, claim.batch_type);
                backoff.wait(shutdown).await;
                continue;
            }
            if count > 1 {
                isolation.narrow(cursor, count);
                failures = 0;
                backoff.reset();
                continue;
            }
            // One item alone fails: it fails with 5000, and the job goes on.
            let recorded = if count == 1 {
                self.fail_item(claim, cursor, &error).await
            } else {
                Err(error)
            };
            match recorded {
                Ok(committed) => {
                    backoff.reset();
                    failures = 0;
                    cursor = committed.cursor;
                    if committed.finished.is_some() {
                        return RunEnd::Finished;
                    }
                }
                Err(StoreError::Fenced) => return RunEnd::Fenced,
                // Not even a failure can be recorded here: a job must not hold a
                // worker forever. The cause stays in the log; the tenant sees where it stopped.
                Err(e) if failures >= self.config.chunk_attempts => {
                    warn!(job = fence.job_id, cursor, error = %e, "the job cannot go on");
                    let reason = format!(
                        "an internal error stopped the job at item {cursor}; the items before it were applied"
                    );
                    return self.fail(claim, &reason).await;
                }
                Err(e) => {
                    warn!(job = fence.job_id, cursor, error = %e, "recording an isolated item failed");
                    backoff.wait(shutdown).await;
                }
            }
        }
    }

    /// Applies a chunk; a panic anywhere in it (store or domain) becomes its error.
    #[instrument(name = "chunk", skip_all, fields(chunk.first_index = from, chunk.items = items.len()))]
    async fn apply(
        &self,
        claim: &Claim,
        from: u32,
        items: ChunkItems,
    ) -> Result<store::ChunkCommitted, StoreError> {
        let now = OffsetDateTime::now_utc();
        let work = ChunkWork {
            tenant_id: claim.tenant_id,
            from,
            items,
            now,
            retention: self.config.retention,
            lease_until: add(now, self.config.lease),
        };
        let started = std::time::Instant::now();
        let committed = AssertUnwindSafe(self.store.apply_chunk(claim.fence, work))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(StoreError::from_panic(&*panic)));
        if let Ok(c) = &committed {
            let items = c.cursor.saturating_sub(from);
            metrics::chunk_committed(
                claim.tenant_id,
                claim.batch_type,
                items,
                started.elapsed(),
                c,
            );
        }
        committed
    }

    /// Records the item at `index` as failed with 5000, unapplied; the cause goes to
    /// the log under an id the failure entry names.
    async fn fail_item(
        &self,
        claim: &Claim,
        index: u32,
        cause: &StoreError,
    ) -> Result<store::ChunkCommitted, StoreError> {
        // Read again: the chunk's texts are not kept for a failure that is rare.
        let raw = self.store.load_items(claim.fence.job_id, index, 1).await?;
        let Some((_, text)) = raw.first() else {
            return Err(StoreError::Fenced);
        };
        let incident = incident_id();
        error!(
            job = claim.fence.job_id,
            index,
            request_id = %incident,
            error = %cause,
            "an item caused an internal error; it fails alone and the job goes on"
        );
        let failure = ItemFailure::new(
            ErrorCode::Internal,
            format!("internal error (see server log, requestId {incident})"),
        );
        let items = ChunkItems::failing(claim.batch_type, index, text, failure);
        let committed = self.apply(claim, index, items).await;
        // Counted once it is recorded (a retried recording is not a second item).
        if committed.is_ok() {
            metrics::poison_item_isolated(claim.tenant_id, claim.batch_type);
        }
        committed
    }

    async fn fail(&self, claim: &Claim, reason: &str) -> RunEnd {
        let fence = claim.fence;
        let now = OffsetDateTime::now_utc();
        match self
            .store
            .fail_job(fence, reason, now, self.config.retention)
            .await
        {
            Ok(true) => {
                warn!(job = fence.job_id, reason, "job failed");
                metrics::job_finished(claim.tenant_id, claim.batch_type, wire::JobState::Failed);
            }
            Ok(false) => {}
            Err(e) => {
                warn!(job = fence.job_id, error = %e, "marking the job failed did not work; its lease will lapse")
            }
        }
        RunEnd::Failed
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

/// Consecutive failures of a chunk with an error that may pass (not a panic)
/// before the chunk is searched for a guilty item.
const RETRIES_BEFORE_ISOLATING: u32 = 3;

/// Parses raw items off the async threads (a thousand items is CPU work); a
/// panic while parsing is the chunk's error like any other.
async fn parse(
    batch_type: wire::BatchType,
    raw: Vec<(u32, String)>,
) -> Result<ChunkItems, StoreError> {
    tokio::task::spawn_blocking(move || {
        ChunkItems::parse(batch_type, raw.iter().map(|(i, t)| (*i, t.as_str())))
    })
    .await
    .map_err(|e| match e.try_into_panic() {
        Ok(panic) => StoreError::from_panic(&*panic),
        Err(e) => StoreError::other(e),
    })
}

/// The search for the item that makes a range of a job fail: the failing chunk
/// is halved until one item is alone, then chunks grow back to full size once
/// the cursor has passed the range.
struct Isolation {
    full: u32,
    size: u32,
    /// End of the range known to hold a failing item.
    until: u32,
}

impl Isolation {
    fn new(full: u32) -> Isolation {
        let full = full.max(1);
        Isolation {
            full,
            size: full,
            until: 0,
        }
    }

    /// Items to load at `cursor`.
    fn chunk_size(&mut self, cursor: u32) -> u32 {
        if cursor >= self.until {
            self.size = self.full;
        }
        self.size
    }

    /// The `count` items at `cursor` failed together.
    fn narrow(&mut self, cursor: u32, count: u32) {
        self.until = cursor.saturating_add(count);
        self.size = (count / 2).max(1);
    }
}

/// An id for an internal error, logged with its cause and quoted to the tenant.
fn incident_id() -> String {
    format!("{:024x}", rand::random::<u128>() >> 32)
}

/// Renews the lease every third of its length; cancels `lost` when the fence
/// broke, then waits forever (the run ends through `lost`).
async fn heartbeat(
    store: Arc<dyn EngineStore>,
    fence: store::Fence,
    lease: Duration,
    lost: CancellationToken,
) -> std::convert::Infallible {
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
                return std::future::pending().await;
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
