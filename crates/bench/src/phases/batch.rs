//! Phase 1 (and the two-node phase): N customers through the Batch API end to end (submit over C connections → every job completed).

use super::{DRAIN_DEADLINE, processing_window, submit_all};
use crate::api::verify_jobs;
use crate::backend::Backend;
use crate::cpu::{Lap, Stopwatch};
use crate::instance::Instance;
use crate::stats::{Latencies, per_second};
use crate::workload;
use anyhow::{Result, ensure};
use engine::EngineConfig;
use std::time::Duration;
use wire::JobState;

pub struct BatchRun {
    /// Servers on the one database, each sent every n-th request.
    pub nodes: usize,
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

/// Runs the phase on `nodes` in-process servers sharing one database, each with
/// `config`'s workers; the `connections` requests in flight go to the nodes in turn.
pub async fn run(
    backend: &Backend,
    nodes: usize,
    items: usize,
    connections: usize,
    config: EngineConfig,
) -> Result<BatchRun> {
    let mut instance = Instance::start_nodes(backend, nodes, config).await?;
    instance.start_engine();
    let apis = instance.apis()?;
    // Serialized before the clock starts: JSON generation is the client's cost, not ours.
    let bodies: Vec<(u32, Vec<u8>)> = workload::batch_bodies("c", items).collect();

    let watch = Stopwatch::start()?;
    let (submitted, latencies) =
        submit_all(&apis, "customers", bodies.into_iter(), connections).await?;
    let ingest = watch.lap()?.elapsed;
    // Any node sees every job: they share the database.
    apis[0].wait_until_drained(DRAIN_DEADLINE).await?;
    let end_to_end = watch.lap()?;

    let jobs = apis[0].all_jobs().await?;
    verify_jobs(&jobs, &submitted, JobState::Completed)?;
    let rows = instance.customer_rows().await?;
    ensure!(
        rows == items,
        "{items} customers submitted but {rows} rows stored"
    );
    drop(apis);
    instance.stop().await?;
    Ok(BatchRun {
        nodes,
        items,
        jobs: submitted.len(),
        end_to_end,
        ingest,
        processing: processing_window(&jobs),
        latency: Latencies::of(latencies),
    })
}
