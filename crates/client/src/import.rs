//! `loyalbatch import`: a file of any size into jobs — rows read and validated locally, chunks submitted with derived idempotency keys (several in flight), progress recorded for resume, every job waited for, and the per-row results written.

use crate::api::Api;
use crate::check::check;
use crate::failed_rows::{Failure, write_failed};
use crate::input::{self, Format, Row};
use crate::progress::Progress;
use crate::state::{Fingerprint, State};
use anyhow::{Context, Result};
use futures::StreamExt;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};
use wire::{BatchType, ErrorCode, JobState};

pub const SUCCESSFUL: &str = "successful.ndjson";
pub const FAILED_CSV: &str = "failed.csv";
pub const FAILED_NDJSON: &str = "failed.ndjson";

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub batch_type: BatchType,
    pub file: PathBuf,
    /// `None`: from the extension or the first character.
    pub format: Option<Format>,
    pub out: PathBuf,
    /// Valid rows per request (≤ the server's limit, 1,000 by default).
    pub chunk_size: usize,
    /// Requests in flight.
    pub parallel: usize,
    /// Chunks submitted ahead of the results written: bounds memory and the server's queue.
    pub ahead: usize,
    pub quiet: bool,
}

/// How the import went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Of `failed`: refused by the local validation, never sent.
    pub refused_locally: u64,
    pub jobs: usize,
    /// Requests the server asked to retry later (429).
    pub throttled: u64,
    pub elapsed: Duration,
}

impl Summary {
    pub fn line(&self, out: &Path) -> String {
        let secs = self.elapsed.as_secs_f64().max(0.001);
        format!(
            "{} rows: {} succeeded, {} failed ({} refused before sending) in {} jobs, {:.1} s ({:.0} rows/s){}; results in {}",
            self.rows,
            self.succeeded,
            self.failed,
            self.refused_locally,
            self.jobs,
            secs,
            self.rows as f64 / secs,
            match self.throttled {
                0 => String::new(),
                n => format!(", {n} requests waited for a full queue (429)"),
            },
            out.display()
        )
    }
}

/// A chunk of valid rows on its way to becoming a job.
struct Chunk {
    index: u64,
    /// The row number of each item, in item order.
    rows: Vec<u64>,
    body: Vec<u8>,
}

/// What the reader learnt about the whole file.
struct ReadEnd {
    rows: u64,
    refused: Vec<Failure>,
}

pub async fn run(api: Api, opts: ImportOptions) -> Result<Summary> {
    let started = Instant::now();
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    let format = match opts.format {
        Some(f) => f,
        None => Format::detect(&opts.file)
            .with_context(|| format!("reading {}", opts.file.display()))?,
    };
    let print = fingerprint(&opts)?;
    let bytes = print.bytes;
    let mut state = State::open(&opts.out, &print)?;
    let progress = Arc::new(Progress::new(opts.quiet, bytes / 200));

    let (chunks_tx, chunks_rx) = mpsc::channel::<Chunk>(opts.parallel * 2);
    let reader = {
        let opts = opts.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || read_chunks(&opts, format, bytes, &progress, chunks_tx))
    };

    // Submit in order with several requests in flight; hand each job to the collector in order.
    let ahead = Arc::new(Semaphore::new(opts.ahead.max(1)));
    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel::<(Vec<u64>, i64)>();
    let collector = {
        let api = api.clone();
        let progress = progress.clone();
        let out = opts.out.clone();
        let ahead = ahead.clone();
        tokio::spawn(async move {
            let collected = collect(api, &out, jobs_rx, &progress, &ahead).await;
            // A collector that stopped early (a fatal error) must not leave
            // submissions waiting for permits it would have given back.
            ahead.close();
            collected
        })
    };
    let batch_type = opts.batch_type;
    let known = state.known();
    let mut submissions = tokio_stream_of(chunks_rx)
        .map(|chunk| {
            let api = api.clone();
            let ahead = ahead.clone();
            let earlier = known.get(&chunk.index).copied();
            async move {
                ahead
                    .acquire_owned()
                    .await
                    .context("the collector stopped")?
                    .forget();
                let job = match earlier {
                    Some(job) => job,
                    None => {
                        let key = idempotency_key(batch_type, chunk.index, &chunk.body);
                        api.submit(batch_type, &chunk.body, Some(&key))
                            .await
                            .with_context(|| {
                                format!(
                                    "submitting rows {}–{}",
                                    chunk.rows[0],
                                    chunk.rows[chunk.rows.len() - 1]
                                )
                            })?
                    }
                };
                anyhow::Ok((chunk, job, earlier.is_none()))
            }
        })
        .buffered(opts.parallel.max(1));
    let mut jobs = 0;
    let mut submit_error = None;
    while let Some(done) = submissions.next().await {
        match done {
            Ok((chunk, job, new)) => {
                if new {
                    state.record(chunk.index, job)?;
                }
                progress.submitted(chunk.rows.len() as u64);
                jobs += 1;
                // The body is no longer needed: only the row numbers wait for the results.
                if jobs_tx.send((chunk.rows, job)).is_err() {
                    break;
                }
            }
            Err(e) => {
                submit_error = Some(e);
                break;
            }
        }
    }
    drop(submissions);
    drop(jobs_tx);
    let collected = collector.await.context("the collector panicked")?;
    let read = reader.await.context("the reader panicked")?;
    if let Some(e) = submit_error {
        return Err(e);
    }
    let (succeeded, mut failures) = collected?;
    let read = read?;
    progress.total(read.rows);
    progress.finish();

    let refused_locally = read.refused.len() as u64;
    failures.extend(read.refused);
    failures.sort();
    write_failed(&opts, format, &failures)?;
    Ok(Summary {
        rows: read.rows,
        succeeded,
        failed: failures.len() as u64,
        refused_locally,
        jobs,
        throttled: api.throttled(),
        elapsed: started.elapsed(),
    })
}

/// A receiver as a stream.
fn tokio_stream_of<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Reads and validates every row (a blocking thread), sending full chunks on.
fn read_chunks(
    opts: &ImportOptions,
    format: Format,
    bytes: u64,
    progress: &Progress,
    chunks: mpsc::Sender<Chunk>,
) -> Result<ReadEnd> {
    let mut refused = Vec::new();
    let mut rows = 0u64;
    let mut read_bytes = 0u64;
    let mut current: Vec<(u64, String)> = Vec::with_capacity(opts.chunk_size);
    let mut index = 0u64;
    let send = |items: &mut Vec<(u64, String)>, index: &mut u64| -> Result<(), String> {
        let mut body =
            Vec::with_capacity(items.iter().map(|(_, t)| t.len() + 1).sum::<usize>() + 16);
        body.extend_from_slice(b"{\"body\":[");
        for (i, (_, text)) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(text.as_bytes());
        }
        body.extend_from_slice(b"]}");
        let chunk = Chunk {
            index: *index,
            rows: items.drain(..).map(|(r, _)| r).collect(),
            body,
        };
        *index += 1;
        // The submitter stopped (a fatal error): stop reading too.
        chunks
            .blocking_send(chunk)
            .map_err(|_| "the import stopped".to_owned())
    };
    let batch_type = opts.batch_type;
    input::for_each_row(&opts.file, format, batch_type, |row: Row| {
        rows += 1;
        let text = match row.item {
            Ok(text) => text,
            Err(why) => {
                refused.push(Failure {
                    row: row.number,
                    code: ErrorCode::MalformedPayload.code(),
                    error: why,
                });
                return Ok(());
            }
        };
        read_bytes += text.len() as u64 + 1;
        if let Err(f) = check(batch_type, &text) {
            refused.push(Failure {
                row: row.number,
                code: f.code.code(),
                error: f.message,
            });
        } else {
            current.push((row.number, text));
        }
        if rows.is_multiple_of(1000) {
            let estimate = bytes.saturating_mul(rows) / read_bytes.max(1);
            progress.read(0, estimate);
        }
        if current.len() >= opts.chunk_size {
            send(&mut current, &mut index)?;
        }
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("reading {}: {e}", opts.file.display()))?;
    if !current.is_empty() {
        send(&mut current, &mut index).map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(ReadEnd { rows, refused })
}

/// Waits for each job in submission order and writes its results; returns the
/// number of succeeded rows and the failed ones.
async fn collect(
    api: Api,
    out: &Path,
    mut jobs: mpsc::UnboundedReceiver<(Vec<u64>, i64)>,
    progress: &Progress,
    ahead: &Semaphore,
) -> Result<(u64, Vec<Failure>)> {
    let mut successful = BufWriter::new(File::create(out.join(SUCCESSFUL))?);
    let mut succeeded = 0;
    let mut failures = Vec::new();
    let mut pending: VecDeque<(Vec<u64>, i64)> = VecDeque::new();
    loop {
        if pending.is_empty() {
            match jobs.recv().await {
                Some(next) => pending.push_back(next),
                None => break,
            }
        }
        while let Ok(next) = jobs.try_recv() {
            pending.push_back(next);
        }
        let (rows, job) = pending.pop_front().expect("one is pending");
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
        if status.status.is_final() && (reported as usize) < rows.len() {
            progress.processed(rows.len() as u64 - reported);
        }
        let mut seen = vec![false; rows.len()];
        if let Some(results) = status.response.results() {
            let ok: Vec<Map<String, Value>> = serde_json::from_str(results.successful.get())?;
            for mut entry in ok {
                let Some(i) = entry_index(&entry, &rows) else {
                    continue;
                };
                seen[i] = true;
                entry.remove("index");
                entry.insert("row".into(), rows[i].into());
                entry.insert("jobId".into(), job.into());
                serde_json::to_writer(&mut successful, &entry)?;
                successful.write_all(b"\n")?;
                succeeded += 1;
            }
            let failed: Vec<Map<String, Value>> = serde_json::from_str(results.failed.get())?;
            for entry in failed {
                let Some(i) = entry_index(&entry, &rows) else {
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
        ahead.add_permits(1);
    }
    successful.flush()?;
    Ok((succeeded, failures))
}

fn entry_index(entry: &Map<String, Value>, rows: &[u64]) -> Option<usize> {
    let i = entry.get("index")?.as_u64()? as usize;
    (i < rows.len()).then_some(i)
}

/// The idempotency key of chunk `index`: the same file re-imported sends the same
/// chunks with the same keys, and the server answers the jobs it already has.
pub fn idempotency_key(batch_type: BatchType, index: u64, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(batch_type.as_str().as_bytes());
    h.update([0]);
    h.update(index.to_be_bytes());
    h.update(body);
    format!("lbimport-{}", &hex::encode(h.finalize())[..48])
}

/// The import's identity: batch type, chunk size, and the file (path, size, and a
/// hash of its first and last MiB).
fn fingerprint(opts: &ImportOptions) -> Result<Fingerprint> {
    let path = std::fs::canonicalize(&opts.file)
        .with_context(|| format!("opening {}", opts.file.display()))?;
    let mut file = File::open(&path)?;
    let bytes = file.metadata()?.len();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let n = read_up_to(&mut file, &mut buf)?;
    h.update(&buf[..n]);
    if bytes > buf.len() as u64 {
        file.seek(SeekFrom::Start(bytes - buf.len() as u64))?;
        let n = read_up_to(&mut file, &mut buf)?;
        h.update(&buf[..n]);
    }
    Ok(Fingerprint {
        version: 1,
        batch_type: opts.batch_type.as_str().to_owned(),
        file: path,
        bytes,
        sample: hex::encode(h.finalize()),
        chunk_size: opts.chunk_size,
    })
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
