//! The figures of one run, printed for people (a plain report) or for tools (one JSON object).

mod format;
mod json;
mod text;

use crate::machine::Machine;
use crate::phases::batch::BatchRun;
use crate::phases::copy::CopyRun;
use crate::phases::queued::QueuedRun;
use crate::phases::raw::RawRun;
use crate::phases::single::SingleRun;

/// The goal on PostgreSQL: customers per second end to end on one node.
pub const POSTGRES_TARGET: f64 = 30_000.0;

/// The knobs the run used.
#[derive(Debug, Clone)]
pub struct Settings {
    pub workload: &'static str,
    pub items: usize,
    pub connections: usize,
    pub single_calls: usize,
    pub workers: usize,
    pub chunk_size: u32,
    pub queued_jobs: usize,
}

/// The backend every phase ran on.
pub struct BackendInfo {
    /// `sqlite` or `postgresql`.
    pub name: &'static str,
    /// The PostgreSQL server's version, settings and address (none for SQLite).
    pub server: Option<String>,
}

/// Phase 2: what the batch path is compared with.
pub enum Baseline {
    /// SQLite: plain rusqlite upserts, 1,000 per transaction.
    Raw(RawRun),
    /// PostgreSQL: binary COPY, in 1,000-row COPYs and in one.
    Copy(CopyRun),
}

impl Baseline {
    /// The headline rate: 1,000 rows per transaction either way, as the engine's chunks.
    pub fn rows_per_second(&self) -> f64 {
        match self {
            Baseline::Raw(r) => r.rows_per_second(),
            Baseline::Copy(c) => c.rows_per_second(),
        }
    }
}

pub struct Report {
    pub date: String,
    pub machine: Machine,
    pub backend: BackendInfo,
    pub settings: Settings,
    pub batch: BatchRun,
    pub baseline: Baseline,
    pub single: SingleRun,
    /// Phase 4 (memory of a separate server process).
    pub queued: QueuedRun,
    /// The two-node phase (PostgreSQL only).
    pub two_nodes: Option<BatchRun>,
    /// The benchmark process's own peak (client, generated data, the in-process servers).
    pub bench_peak_rss_kib: u64,
}

impl Report {
    /// Batch end to end ÷ the baseline's headline rate (1,000 rows per transaction).
    pub fn batch_over_raw(&self) -> f64 {
        self.batch.items_per_second() / self.baseline.rows_per_second()
    }

    /// Batch end to end ÷ one COPY of every row (PostgreSQL only).
    pub fn batch_over_whole_copy(&self) -> Option<f64> {
        match &self.baseline {
            Baseline::Copy(c) => Some(self.batch.items_per_second() / c.whole_rows_per_second()),
            Baseline::Raw(_) => None,
        }
    }

    pub fn batch_over_single(&self) -> f64 {
        self.batch.items_per_second() / self.single.items_per_second()
    }

    /// Whether one node met [`POSTGRES_TARGET`] end to end (PostgreSQL only).
    pub fn postgres_target_met(&self) -> Option<bool> {
        self.backend
            .server
            .is_some()
            .then(|| self.batch.items_per_second() >= POSTGRES_TARGET)
    }

    /// Two nodes end to end ÷ one node end to end.
    pub fn two_nodes_over_one(&self) -> Option<f64> {
        self.two_nodes
            .as_ref()
            .map(|two| two.items_per_second() / self.batch.items_per_second())
    }
}
