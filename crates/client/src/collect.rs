//! The import's results: each job waited for in submission order, its
//! successes appended to `successful.ndjson` and its failures (and the rows a
//! stopped or failed job never processed) to the failures spool, in row order.

use crate::api::Api;
use crate::failed_rows::{Failure, Spool};
use crate::progress::Progress;
use crate::submit::{Outcome, Part};
use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use tokio::sync::{Semaphore, mpsc};
use wire::{ErrorCode, JobState, JobStatus};

/// A chunk as submitted: its row numbers and what became of its items.
pub(crate) struct Submitted {
    pub(crate) rows: Vec<u64>,
    pub(crate) parts: Vec<Part>,
}

/// What the collector wrote.
pub(crate) struct Collected {
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    /// The collector could not go on from this row (the rows before it are written): why.
    pub(crate) stopped: Option<(u64, anyhow::Error)>,
}

/// Where the collector writes.
pub(crate) struct Outputs {
    /// `successful.ndjson` while it is written.
    pub(crate) successful: PathBuf,
    pub(crate) failures: Spool,
}

/// Waits for each chunk's jobs in submission order and writes their results;
/// gives `ahead` a permit back per chunk done.
pub(crate) async fn collect(
    api: Api,
    outputs: &mut Outputs,
    mut chunks: mpsc::UnboundedReceiver<Submitted>,
    progress: &Progress,
    ahead: &Semaphore,
) -> Result<Collected> {
    let mut successful = BufWriter::new(
        File::create(&outputs.successful)
            .with_context(|| format!("creating {}", outputs.successful.display()))?,
    );
    let mut collected = Collected {
        succeeded: 0,
        failed: 0,
        stopped: None,
    };
    while let Some(chunk) = chunks.recv().await {
        let mut failures = Vec::new();
        for part in &chunk.parts {
            let rows = &chunk.rows[part.from..part.to];
            match &part.outcome {
                Outcome::TooLarge { code, error } => {
                    failures.extend(rows.iter().map(|row| Failure {
                        row: *row,
                        code: *code,
                        error: error.clone(),
                    }))
                }
                Outcome::Job { id, .. } => {
                    let status = match wait(&api, *id, rows.len(), progress).await {
                        Ok(status) => status,
                        Err(e) => {
                            collected.stopped = Some((rows[0], e));
                            break;
                        }
                    };
                    let ok = results(&status, *id, rows, &mut successful, &mut failures)?;
                    collected.succeeded += ok;
                }
            }
        }
        failures.sort();
        for f in &failures {
            outputs.failures.push(f)?;
        }
        collected.failed += failures.len() as u64;
        if collected.stopped.is_some() {
            break;
        }
        ahead.add_permits(1);
    }
    successful.flush()?;
    successful.get_ref().sync_all()?;
    Ok(collected)
}

async fn wait(api: &Api, job: i64, rows: usize, progress: &Progress) -> Result<JobStatus> {
    let mut reported = 0u64;
    let status = api
        .wait(job, |total: u32| {
            let done = u64::from(total);
            if done > reported {
                progress.processed(done - reported);
                reported = done;
            }
        })
        .await
        .with_context(|| format!("waiting for job {job}"))?;
    if status.status.is_final() && (reported as usize) < rows {
        progress.processed(rows as u64 - reported);
    }
    Ok(status)
}

/// Writes a finished job's successes and gathers its failures; the number of successes.
fn results(
    status: &JobStatus,
    job: i64,
    rows: &[u64],
    successful: &mut impl Write,
    failures: &mut Vec<Failure>,
) -> Result<u64> {
    let mut seen = vec![false; rows.len()];
    let mut succeeded = 0;
    if let Some(results) = status.response.results() {
        let ok: Vec<Map<String, Value>> = serde_json::from_str(results.successful.get())?;
        for mut entry in ok {
            let Some(i) = entry_index(&entry, rows) else {
                continue;
            };
            seen[i] = true;
            entry.remove("index");
            entry.insert("row".into(), rows[i].into());
            entry.insert("jobId".into(), job.into());
            serde_json::to_writer(&mut *successful, &entry)?;
            successful.write_all(b"\n")?;
            succeeded += 1;
        }
        let failed: Vec<Map<String, Value>> = serde_json::from_str(results.failed.get())?;
        for entry in failed {
            let Some(i) = entry_index(&entry, rows) else {
                continue;
            };
            seen[i] = true;
            failures.push(Failure {
                row: rows[i],
                code: entry.get("code").and_then(Value::as_u64).unwrap_or(0) as u32,
                error: entry
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
    }
    // Items a stopped or failed job never processed.
    for (i, _) in seen.iter().enumerate().filter(|(_, s)| !**s) {
        let why = match (&status.status, &status.error) {
            (JobState::Stopped, _) => {
                format!("job {job} was stopped before this row was processed")
            }
            (_, Some(e)) => format!("job {job} ended {}: {e}", status.status),
            _ => format!(
                "job {job} ended {} without processing this row",
                status.status
            ),
        };
        failures.push(Failure {
            row: rows[i],
            code: ErrorCode::StateConflict.code(),
            error: why,
        });
    }
    Ok(succeeded)
}

fn entry_index(entry: &Map<String, Value>, rows: &[u64]) -> Option<usize> {
    let i = entry.get("index")?.as_u64()? as usize;
    (i < rows.len()).then_some(i)
}
