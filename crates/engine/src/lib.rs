//! The job engine: workers claim jobs fairly, process them chunk by chunk under a renewed lease, and give them back on shutdown.
#![forbid(unsafe_code)]

use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use store::{Claim, EngineStore, StoreError};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};

mod chunks;
mod lease;
pub mod metrics;
pub mod webhooks;

use lease::{Backoff, heartbeat};

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
    /// The longest pause between attempts at a store that does not answer (or
    /// has no connection free); pauses start at 50 ms and double.
    pub max_backoff: Duration,
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
            max_backoff: Duration::from_secs(5),
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
        let mut backoff = Backoff::new(self.config.max_backoff);
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
