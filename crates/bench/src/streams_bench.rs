//! `loyalbatch-bench streams`: what open event streams cost the batch path.
//!
//! Jobs are submitted with the workers stopped; then `--streams` clients open
//! `GET /batch/{jobId}/events` on them (spread evenly) and, once every stream
//! has its first event, the workers start and the clock runs until the queue
//! is drained. The same run without streams alternates with it. Every stream
//! must end with its job's `completed` event.

use crate::api::verify_jobs;
use crate::backend::Backend;
use crate::instance::Instance;
use crate::phases::{DRAIN_DEADLINE, submit_all};
use crate::stats::{list, median, per_second};
use crate::workload;
use anyhow::{Result, ensure};
use engine::EngineConfig;
use std::sync::Arc;
use std::time::Instant;
use wire::JobState;

pub struct StreamSettings {
    pub items: usize,
    pub connections: usize,
    pub streams: usize,
    pub rounds: usize,
    pub config: EngineConfig,
}

/// Items per second of one customers run with `streams` streams open.
async fn run_once(backend: &Backend, s: &StreamSettings, streams: usize) -> Result<f64> {
    let mut instance = Instance::start(backend, s.config.clone()).await?;
    let api = Arc::new(instance.api()?);
    let bodies: Vec<(u32, Vec<u8>)> = workload::batch_bodies("c", s.items).collect();
    let (submitted, _) = submit_all(
        std::slice::from_ref(&*api),
        "customers",
        bodies.into_iter(),
        s.connections,
    )
    .await?;
    let jobs: Vec<i64> = submitted.keys().copied().collect();
    let (opened, mut open) = tokio::sync::mpsc::channel(streams.max(1));
    let followers: Vec<_> = (0..streams)
        .map(|i| {
            let (api, opened, job) = (api.clone(), opened.clone(), jobs[i % jobs.len()]);
            tokio::spawn(async move { api.follow(job, opened).await })
        })
        .collect();
    drop(opened);
    // A stream that fails to open ends its task; the others wait for the workers.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    for _ in 0..streams {
        let opened = tokio::time::timeout_at(deadline, open.recv()).await;
        ensure!(
            matches!(opened, Ok(Some(()))),
            "not every stream opened within 120 s"
        );
    }
    let started = Instant::now();
    instance.start_engine();
    api.wait_until_drained(DRAIN_DEADLINE).await?;
    let elapsed = started.elapsed();
    verify_jobs(&api.all_jobs().await?, &submitted, JobState::Completed)?;
    for follower in followers {
        let events = follower.await??;
        ensure!(events >= 2, "a stream saw {events} events");
    }
    drop(api);
    instance.stop().await?;
    Ok(per_second(s.items, elapsed))
}

pub async fn run(backend: &Backend, s: StreamSettings, date: String) -> Result<()> {
    let m = crate::machine::describe();
    println!(
        "loyalbatch-bench streams — {date} — {} — {} cores, {}",
        backend.name(),
        m.cpus,
        m.cpu_model
    );
    println!(
        "{} customers in jobs of 1,000 submitted first, then processed with 0 or {} event streams open on them, {} rounds alternating",
        s.items, s.streams, s.rounds
    );
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for round in 0..s.rounds {
        // Alternate which goes first, so drift over the run hits both alike.
        let order = if round % 2 == 0 {
            [0, s.streams]
        } else {
            [s.streams, 0]
        };
        for streams in order {
            eprintln!("round {}/{}: {streams} streams…", round + 1, s.rounds);
            let rate = run_once(backend, &s, streams).await?;
            if streams == 0 {
                without.push(rate)
            } else {
                with.push(rate)
            }
        }
    }
    println!(
        "items/s, no streams:   {} (median {:.0})",
        list(&without),
        median(&without)
    );
    println!(
        "items/s, {} streams: {} (median {:.0})",
        s.streams,
        list(&with),
        median(&with)
    );
    println!(
        "ratio with/without (medians): {:.3}",
        median(&with) / median(&without)
    );
    Ok(())
}
