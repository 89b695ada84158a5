//! Phase 1: N customers through the Batch API end to end (submit over C connections → every job completed).

use super::{DRAIN_DEADLINE, processing_window, submit_all};
use crate::api::verify_jobs;
use crate::cpu::{Lap, Stopwatch};
use crate::instance::Instance;
use crate::stats::{Latencies, per_second};
use crate::workload;
use anyhow::{Result, ensure};
use engine::EngineConfig;
use std::time::Duration;
use wire::JobState;

pub struct BatchRun {
    pub items: usize,
    pub jobs: usize,
    /// First submit → last job seen completed.
    pub end_to_end: Lap,
    /// First submit → last `{"jobId"}` received.
    pub ingest: Duration,
    /// First job started → last job finished, as the server recorded it.
    pub processing: Option<Duration>,
    /// Per 1,000-object POST.
    pub latency: Latencies,
}

impl BatchRun {
    pub fn items_per_second(&self) -> f64 {
        per_second(self.items, self.end_to_end.elapsed)
    }
}

pub async fn run(items: usize, connections: usize, config: EngineConfig) -> Result<BatchRun> {
    let mut instance = Instance::start(config).await?;
    instance.start_engine();
    let api = instance.api()?;
    // Serialized before the clock starts: JSON generation is the client's cost, not ours.
    let bodies: Vec<(u32, Vec<u8>)> = workload::batch_bodies("c", items).collect();

    let watch = Stopwatch::start()?;
    let (submitted, latencies) = submit_all(&api, bodies.into_iter(), connections).await?;
    let ingest = watch.lap()?.elapsed;
    api.wait_until_drained(DRAIN_DEADLINE).await?;
    let end_to_end = watch.lap()?;

    let jobs = api.all_jobs().await?;
    verify_jobs(&jobs, &submitted, JobState::Completed)?;
    let rows = instance.customer_rows()?;
    ensure!(
        rows == items,
        "{items} customers submitted but {rows} rows stored"
    );
    drop(api);
    instance.stop().await?;
    Ok(BatchRun {
        items,
        jobs: submitted.len(),
        end_to_end,
        ingest,
        processing: processing_window(&jobs),
        latency: Latencies::of(latencies),
    })
}
