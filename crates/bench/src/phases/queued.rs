//! Phase 4: a separate server process's memory with Q jobs queued and no worker running, then a fresh one's while it drains them.

use super::{DRAIN_DEADLINE, processing_window, submit_all};
use crate::api::verify_jobs;
use crate::backend::{Backend, Database};
use crate::cpu::Lap;
use crate::rss::Sample;
use crate::server_process::ServerProcess;
use crate::stats::per_second;
use crate::workload::{self, BATCH_SIZE};
use anyhow::{Result, ensure};
use engine::EngineConfig;
use std::time::{Duration, Instant};
use wire::JobState;

pub struct QueuedRun {
    pub jobs: usize,
    pub items: usize,
    /// The server without workers, listening, before any request.
    pub idle: Sample,
    /// The same server once every job was accepted (its peak covers the whole intake).
    pub queued: Sample,
    /// First submit → last `{"jobId"}` received.
    pub ingest: Duration,
    /// A fresh server with workers, once the queue drained (its peak covers the whole drain).
    pub drained: Sample,
    /// Listening → no job queued or running; the CPU is the server process's alone.
    pub drain: Lap,
    /// First job started → last job finished, as the server recorded it.
    pub processing: Option<Duration>,
}

impl QueuedRun {
    pub fn items_per_second(&self) -> f64 {
        per_second(self.items, self.drain.elapsed)
    }

    pub fn ingest_items_per_second(&self) -> f64 {
        per_second(self.items, self.ingest)
    }
}

pub async fn run(
    backend: &Backend,
    jobs: usize,
    connections: usize,
    config: EngineConfig,
) -> Result<QueuedRun> {
    let db = Database::create(backend).await?;
    let items = jobs * BATCH_SIZE;

    // A server process with no worker: every accepted job stays queued.
    let server = ServerProcess::spawn(&db.target(), &config, false).await?;
    let api = server.api()?;
    let idle = server.memory()?;
    let start = Instant::now();
    // Bodies are built one per free connection, in this process: the server's
    // memory is measured in its own.
    let (submitted, _) = submit_all(
        std::slice::from_ref(&api),
        "customers",
        workload::batch_bodies("q", items),
        connections,
    )
    .await?;
    let ingest = start.elapsed();
    let queued = server.memory()?;
    verify_jobs(&api.all_jobs().await?, &submitted, JobState::Queued)?;
    drop(api);
    server.kill().await?;

    // A fresh server process on the same database, with workers: it drains the queue.
    let server = ServerProcess::spawn(&db.target(), &config, true).await?;
    let api = server.api()?;
    let watch = server.stopwatch()?;
    api.wait_until_drained(DRAIN_DEADLINE).await?;
    let drain = watch.lap()?;
    let drained = server.memory()?;

    let listed = api.all_jobs().await?;
    verify_jobs(&listed, &submitted, JobState::Completed)?;
    let rows = db.customer_rows().await?;
    ensure!(
        rows == items,
        "{items} customers queued but {rows} rows stored"
    );
    drop(api);
    server.kill().await?;
    db.remove().await?;
    Ok(QueuedRun {
        jobs,
        items,
        idle,
        queued,
        ingest,
        drained,
        drain,
        processing: processing_window(&listed),
    })
}
