//! Phase 4: memory while Q jobs wait with no worker running, then the time to drain them once the engine starts.

use super::{DRAIN_DEADLINE, submit_all};
use crate::api::verify_jobs;
use crate::cpu::{Lap, Stopwatch};
use crate::instance::Instance;
use crate::rss;
use crate::stats::per_second;
use crate::workload::{self, BATCH_SIZE};
use anyhow::{Result, ensure};
use engine::EngineConfig;
use wire::JobState;

pub struct QueuedRun {
    pub jobs: usize,
    pub items: usize,
    /// Whether the peak could be reset before the phase (else peaks are whole-run).
    pub peak_reset: bool,
    pub before: rss::Sample,
    /// After every job was accepted, nothing processed yet.
    pub queued: rss::Sample,
    /// After the queue drained.
    pub drained: rss::Sample,
    pub drain: Lap,
}

impl QueuedRun {
    pub fn items_per_second(&self) -> f64 {
        per_second(self.items, self.drain.elapsed)
    }
}

pub async fn run(jobs: usize, connections: usize, config: EngineConfig) -> Result<QueuedRun> {
    let mut instance = Instance::start(config).await?;
    let api = instance.api()?;
    let items = jobs * BATCH_SIZE;

    let peak_reset = rss::reset_peak()?;
    let before = rss::sample()?;
    // Bodies are built one per free connection, so the client holds at most
    // `connections` of them: the growth measured is the server's.
    let (submitted, _) = submit_all(&api, workload::batch_bodies("q", items), connections).await?;
    let queued = rss::sample()?;
    verify_jobs(&api.all_jobs().await?, &submitted, JobState::Queued)?;

    instance.start_engine();
    let watch = Stopwatch::start()?;
    api.wait_until_drained(DRAIN_DEADLINE).await?;
    let drain = watch.lap()?;
    let drained = rss::sample()?;

    verify_jobs(&api.all_jobs().await?, &submitted, JobState::Completed)?;
    let rows = instance.customer_rows()?;
    ensure!(
        rows == items,
        "{items} customers queued but {rows} rows stored"
    );
    drop(api);
    instance.stop().await?;
    Ok(QueuedRun {
        jobs,
        items,
        peak_reset,
        before,
        queued,
        drained,
        drain,
    })
}
