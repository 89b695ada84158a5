//! `loyalbatch import`: a file of any size into jobs — rows read and checked
//! locally, chunks cut by rows and bytes and submitted with derived
//! idempotency keys (several in flight), progress recorded for resume, every
//! job waited for, and the per-row results written. An import that cannot go
//! on (the server refuses the keys, the file breaks off) still writes what it
//! learnt and says where it stopped.

use crate::api::Api;
use crate::chunks::{self, Chunk, Limits, ReadEnd};
use crate::collect::{Collected, Outputs, Submitted, collect};
use crate::failed_rows::{FailedFiles, Spool, write_failed};
use crate::input::{self, Format, read_up_to};
use crate::progress::Progress;
use crate::state::{Fingerprint, State, VERSION};
use crate::submit::{Outcome, submit};
use anyhow::{Context, Result, anyhow};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};
use wire::BatchType;

pub use crate::submit::idempotency_key;

pub const SUCCESSFUL: &str = "successful.ndjson";
pub const FAILED_CSV: &str = "failed.csv";
pub const FAILED_NDJSON: &str = "failed.ndjson";
/// Failures spooled while the import runs (removed once written out).
const REFUSED_SPOOL: &str = ".refused.spool";
const FAILED_SPOOL: &str = ".failed.spool";

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub batch_type: BatchType,
    pub file: PathBuf,
    /// `None`: from the extension or the content.
    pub format: Option<Format>,
    pub out: PathBuf,
    /// Valid rows per request (≤ the server's limit, 1,000 by default).
    pub chunk_size: usize,
    /// Bytes per request (below the server's body limit).
    pub chunk_bytes: u64,
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
    /// The import stopped before this row (rows from it on were not imported).
    pub stopped_before: Option<u64>,
}

impl Summary {
    pub fn line(&self, out: &Path) -> String {
        let secs = self.elapsed.as_secs_f64().max(0.001);
        format!(
            "{} rows: {} succeeded, {} failed ({} refused before sending) in {} jobs, {:.1} s ({:.0} rows/s){}{}; results in {}",
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
            match self.stopped_before {
                None => String::new(),
                Some(row) =>
                    format!("; stopped before row {row} (run the same command again to resume)"),
            },
            out.display()
        )
    }
}

/// An import's end: its summary, and why it stopped early if it did.
pub struct Ended {
    pub summary: Summary,
    /// The import could not finish (rows from `summary.stopped_before` on were
    /// not imported, or its results could not be written): why.
    pub stopped: Option<anyhow::Error>,
}

/// Runs an import. `Err` only when it could not start (nothing was sent).
pub async fn run(api: Api, opts: ImportOptions) -> Result<Ended> {
    let started = Instant::now();
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    let format = match opts.format {
        Some(f) => f,
        None => Format::detect(&opts.file)
            .with_context(|| format!("reading {}", opts.file.display()))?,
    };
    // An encoding this client cannot read is refused before anything is sent.
    input::open(&opts.file).with_context(|| format!("reading {}", opts.file.display()))?;
    let print = fingerprint(&opts)?;
    let bytes = print.bytes;
    let mut state = State::open(&opts.out, &print)?;
    let progress = Arc::new(Progress::new(opts.quiet, bytes / 200));
    let refused_spool = opts.out.join(REFUSED_SPOOL);
    let failed_spool = opts.out.join(FAILED_SPOOL);
    let successful_part = opts.out.join(format!("{SUCCESSFUL}.part"));

    let (chunks_tx, chunks_rx) = mpsc::channel::<Chunk>(opts.parallel * 2);
    let reader = {
        let opts = opts.clone();
        let progress = progress.clone();
        let mut refusals = Spool::create(refused_spool.clone())?;
        let limits = Limits {
            rows: opts.chunk_size,
            bytes: usize::try_from(opts.chunk_bytes).unwrap_or(usize::MAX),
        };
        tokio::task::spawn_blocking(move || {
            let end = chunks::read_chunks(
                &opts.file,
                format,
                opts.batch_type,
                limits,
                &mut refusals,
                &progress,
                bytes,
                chunks_tx,
            );
            (end, refusals.finish())
        })
    };

    // Submit in order with several requests in flight; hand each chunk's jobs to the collector in order.
    let ahead = Arc::new(Semaphore::new(opts.ahead.max(1)));
    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel::<Submitted>();
    let mut outputs = Outputs {
        successful: successful_part.clone(),
        failures: Spool::create(failed_spool.clone())?,
    };
    let collector = {
        let api = api.clone();
        let progress = progress.clone();
        let ahead = ahead.clone();
        tokio::spawn(async move {
            let collected = collect(api, &mut outputs, jobs_rx, &progress, &ahead).await;
            // A collector that stopped early must not leave submissions
            // waiting for permits it would have given back.
            ahead.close();
            (collected, outputs.failures.finish())
        })
    };
    let (jobs, stopped) = submit_all(
        &api, &opts, &mut state, chunks_rx, &ahead, jobs_tx, &progress,
    )
    .await?;
    let (collected, failed_spool_done) = collector.await.context("the collector panicked")?;
    let (read, refused_spool_done) = reader.await.context("the reader panicked")?;
    refused_spool_done?;
    failed_spool_done?;
    let collected = collected?;
    progress.total(read.rows);
    progress.finish();

    let paths = Paths {
        refused_spool,
        failed_spool,
        successful_part,
    };
    let mut ended = finish(
        &api,
        &opts,
        format,
        bytes,
        read,
        collected,
        (jobs, stopped),
        &paths,
    )?;
    ended.summary.elapsed = started.elapsed();
    Ok(ended)
}

/// Submits the chunks in order with several requests in flight, records their
/// jobs, and hands each chunk's jobs to the collector in order; the jobs
/// created and, if a submission failed, the row it stopped at and why.
async fn submit_all(
    api: &Api,
    opts: &ImportOptions,
    state: &mut State,
    chunks_rx: mpsc::Receiver<Chunk>,
    ahead: &Arc<Semaphore>,
    jobs_tx: mpsc::UnboundedSender<Submitted>,
    progress: &Progress,
) -> Result<(usize, Option<(u64, anyhow::Error)>)> {
    let batch_type = opts.batch_type;
    let known = Arc::new(state.known());
    let mut submissions = tokio_stream_of(chunks_rx)
        .map(|chunk| {
            let api = api.clone();
            let ahead = ahead.clone();
            let known = known.clone();
            async move {
                ahead
                    .acquire_owned()
                    .await
                    .map_err(|_| (chunk.rows[0], anyhow!("the collector stopped")))?
                    .forget();
                let parts = submit(&api, batch_type, &chunk, &known)
                    .await
                    .map_err(|e| (chunk.rows[0], e))?;
                Ok::<_, (u64, anyhow::Error)>((chunk, parts))
            }
        })
        .buffered(opts.parallel.max(1));
    let mut jobs = 0;
    let mut stopped: Option<(u64, anyhow::Error)> = None;
    while let Some(done) = submissions.next().await {
        let (chunk, parts) = match done {
            Ok(done) => done,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        };
        for part in &parts {
            if let Outcome::Job { id, new: true } = part.outcome {
                let whole = part.from == 0 && part.to == chunk.len();
                state.record(chunk.index, (!whole).then_some((part.from, part.to)), id)?;
            }
            jobs += usize::from(matches!(part.outcome, Outcome::Job { .. }));
        }
        progress.submitted(chunk.len() as u64);
        // The body is no longer needed: only the row numbers wait for the results.
        let submitted = Submitted {
            rows: chunk.rows,
            parts,
        };
        if jobs_tx.send(submitted).is_err() {
            break;
        }
    }
    Ok((jobs, stopped))
}

/// The files an import writes while it runs.
struct Paths {
    refused_spool: PathBuf,
    failed_spool: PathBuf,
    successful_part: PathBuf,
}

/// Where the import stopped (if it did), its results written, its summary.
#[allow(clippy::too_many_arguments)]
fn finish(
    api: &Api,
    opts: &ImportOptions,
    format: Format,
    bytes: u64,
    read: ReadEnd,
    collected: Collected,
    (jobs, stopped): (usize, Option<(u64, anyhow::Error)>),
    paths: &Paths,
) -> Result<Ended> {
    // Where the import stopped, if it did: the earliest row it could not get past.
    let read_stop = read.error.map(|e| (read.rows + 1, anyhow!(e)));
    let collect_stop = collected.stopped;
    let mut stop = [stopped, collect_stop, read_stop]
        .into_iter()
        .flatten()
        .min_by_key(|(row, _)| *row);
    if stop.is_none() && read.rows == 0 && !input::empty_by_design(&opts.file, format)? {
        stop = Some((
            1,
            anyhow!(
                "no rows were read from {} as {} ({bytes} bytes): give its format with --format, or check its first line",
                opts.file.display(),
                format.name()
            ),
        ));
    }
    let before_row = stop.as_ref().map_or(u64::MAX, |(row, _)| *row);
    let Collected {
        succeeded, failed, ..
    } = collected;
    let mut summary = Summary {
        rows: read.rows.min(before_row - 1),
        succeeded,
        failed: failed + read.refused,
        refused_locally: read.refused,
        jobs,
        throttled: api.throttled(),
        elapsed: Duration::ZERO,
        stopped_before: stop.as_ref().map(|(row, _)| *row),
    };
    let mut stopped = stop.map(|(_, e)| e);
    // What cannot be written is said, and the summary still prints.
    let mut also = |e: anyhow::Error| {
        stopped = Some(match stopped.take() {
            Some(first) => first.context(format!("{e:#}")),
            None => e,
        });
    };
    if let Err(e) = std::fs::rename(&paths.successful_part, opts.out.join(SUCCESSFUL)) {
        also(anyhow!(e).context(format!("writing {SUCCESSFUL}")));
    }
    let written = write_failed(&FailedFiles {
        input: &opts.file,
        format,
        batch_type: opts.batch_type,
        out: &opts.out,
        refused: &paths.refused_spool,
        failed: &paths.failed_spool,
        before_row,
    });
    match written {
        Ok(written) => {
            summary.failed = written.failed;
            summary.refused_locally = written.refused_locally;
            if let Some(why) = written.unreadable {
                eprintln!("warning: some failed rows are written without their cells: {why}");
            }
            let _ = std::fs::remove_file(&paths.refused_spool);
            let _ = std::fs::remove_file(&paths.failed_spool);
        }
        Err(e) => also(e.context(format!("writing the failed rows to {}", opts.out.display()))),
    }
    Ok(Ended { summary, stopped })
}

/// A receiver as a stream.
fn tokio_stream_of<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The import's identity: batch type, chunk limits, and the file (path, size,
/// and a hash of its first and last MiB).
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
        version: VERSION,
        batch_type: opts.batch_type.as_str().to_owned(),
        file: path,
        bytes,
        sample: hex::encode(h.finalize()),
        chunk_size: opts.chunk_size,
        chunk_bytes: Some(opts.chunk_bytes),
    })
}
