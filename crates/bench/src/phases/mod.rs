//! The measured phases; each runs on its own fresh database.

pub mod batch;
pub mod copy;
pub mod queued;
pub mod raw;
pub mod single;

use crate::api::Api;
use anyhow::Result;
use futures::{StreamExt, TryStreamExt, stream};
use std::collections::BTreeMap;
use std::time::Duration;
use wire::JobStatus;

/// How long a phase may wait for its jobs before the run is declared broken.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(3600);

/// Submits `bodies` (items, body) with at most `connections` requests in flight, pulling
/// each body only when a connection is free, the n-th to node n mod `nodes.len()`;
/// returns the jobs (id → items) and each request's latency.
pub async fn submit_all(
    nodes: &[Api],
    batch_type: &str,
    bodies: impl Iterator<Item = (u32, Vec<u8>)>,
    connections: usize,
) -> Result<(BTreeMap<i64, u32>, Vec<Duration>)> {
    let answers: Vec<(i64, u32, Duration)> = stream::iter(bodies.zip(nodes.iter().cycle()))
        .map(|((items, body), api)| async move {
            let (job, latency) = api.submit_batch(batch_type, body).await?;
            Ok::<_, anyhow::Error>((job, items, latency))
        })
        .buffer_unordered(connections)
        .try_collect()
        .await?;
    let jobs = answers
        .iter()
        .map(|(job, items, _)| (*job, *items))
        .collect();
    Ok((
        jobs,
        answers.into_iter().map(|(_, _, latency)| latency).collect(),
    ))
}

/// First start to last finish of `jobs`, as the server recorded them.
fn processing_window(jobs: &[JobStatus]) -> Option<Duration> {
    let first = jobs.iter().filter_map(|j| j.started_at).min()?;
    let last = jobs.iter().filter_map(|j| j.finished_at).max()?;
    Duration::try_from(last - first).ok()
}
