//! The figures of one run, printed for people (a plain report) or for tools (one JSON object).

use crate::cpu::Lap;
use crate::machine::Machine;
use crate::phases::batch::BatchRun;
use crate::phases::queued::QueuedRun;
use crate::phases::raw::RawRun;
use crate::phases::single::SingleRun;
use crate::rss::Sample;
use crate::stats::Latencies;
use serde_json::{Value, json};
use std::time::Duration;

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

pub struct Report {
    pub date: String,
    pub machine: Machine,
    pub settings: Settings,
    pub batch: BatchRun,
    pub raw: RawRun,
    pub single: SingleRun,
    pub queued: QueuedRun,
    /// The benchmark process's own peak (client, generated data, phases 1–3's server).
    pub bench_peak_rss_kib: u64,
}

impl Report {
    pub fn batch_over_raw(&self) -> f64 {
        self.batch.items_per_second() / self.raw.rows_per_second()
    }

    pub fn batch_over_single(&self) -> f64 {
        self.batch.items_per_second() / self.single.items_per_second()
    }

    pub fn text(&self) -> String {
        let (m, s, b, r, one, q) = (
            &self.machine,
            &self.settings,
            &self.batch,
            &self.raw,
            &self.single,
            &self.queued,
        );
        let mut out = Vec::new();
        out.push(format!("loyalbatch-bench — {} workload", s.workload));
        out.push(format!("date      {}", self.date));
        out.push(format!(
            "machine   {} CPUs, {}, Linux {}, temp dir on {}",
            m.cpus, m.cpu_model, m.kernel, m.temp_fs
        ));
        out.push(format!(
            "settings  --items {} --connections {} --single-calls {} --workers {} --chunk-size {} --queued-jobs {}",
            s.items, s.connections, s.single_calls, s.workers, s.chunk_size, s.queued_jobs
        ));
        out.push(String::new());
        out.push(format!(
            "1. batch end to end: {} items in {} requests of ≤1,000 over {} connections",
            thousands(b.items as f64),
            b.jobs,
            s.connections
        ));
        out.push(timed(
            "end to end (first submit → last job completed)",
            &b.end_to_end,
            b.items_per_second(),
            "items/s",
        ));
        out.push(row(
            "ingest (first submit → last jobId answered)",
            b.ingest,
            rate(b.items, b.ingest),
            "items/s",
        ));
        if let Some(p) = b.processing {
            out.push(row(
                "engine (first job started → last finished)",
                p,
                rate(b.items, p),
                "items/s",
            ));
        }
        out.push(format!(
            "   ingest latency per 1,000-object POST: {}",
            latency(&b.latency)
        ));
        out.push(format!(
            "   verified: {} jobs completed, totalCount = itemCount, errorCount = 0, {} customer rows",
            b.jobs,
            thousands(b.items as f64)
        ));
        out.push(format!(
            "2. raw rusqlite baseline: {} upserts, {}-row transactions, WAL + synchronous=FULL",
            thousands(r.rows as f64),
            thousands(crate::workload::BATCH_SIZE as f64)
        ));
        out.push(timed(
            "raw upserts",
            &r.elapsed,
            r.rows_per_second(),
            "rows/s",
        ));
        out.push(format!(
            "3. single-call path: {} × POST /customers, sequential on one connection",
            thousands(one.calls as f64)
        ));
        out.push(timed(
            "single calls",
            &one.elapsed,
            one.items_per_second(),
            "items/s",
        ));
        out.push(format!("   latency per call: {}", latency(&one.latency)));
        out.push(format!(
            "4. queued jobs: {} jobs × 1,000 items, each server a separate process (serve-child) on one database",
            q.jobs
        ));
        out.push(server_memory(
            "server, no worker, listening (idle)",
            &q.idle,
            None,
        ));
        out.push(row(
            "ingest (first submit → last jobId answered)",
            q.ingest,
            q.ingest_items_per_second(),
            "items/s",
        ));
        out.push(server_memory(
            &format!("server peak RSS with {} queued jobs", q.jobs),
            &q.queued,
            target_met(q.jobs, q.queued.peak_kib),
        ));
        out.push(format!(
            "{}   server CPU {:.2} cores",
            row(
                &format!(
                    "drain by a new server, {} workers (start → empty)",
                    s.workers
                ),
                q.drain.elapsed,
                q.items_per_second(),
                "items/s",
            ),
            q.drain.cores_busy
        ));
        if let Some(p) = q.processing {
            out.push(row(
                "engine (first job started → last finished)",
                p,
                rate(q.items, p),
                "items/s",
            ));
        }
        out.push(server_memory(
            &format!("server peak RSS while draining {} jobs", q.jobs),
            &q.drained,
            target_met(q.jobs, q.drained.peak_kib),
        ));
        out.push(format!(
            "   verified: {} jobs queued, then completed with errorCount = 0, {} customer rows",
            q.jobs,
            thousands(q.items as f64)
        ));
        out.push(String::new());
        out.push(format!(
            "batch ÷ raw baseline   {:.2}  ({} vs {} per second)",
            self.batch_over_raw(),
            thousands(b.items_per_second()),
            thousands(r.rows_per_second())
        ));
        out.push(format!(
            "batch ÷ single-call    {:.1}×  ({} vs {} per second)",
            self.batch_over_single(),
            thousands(b.items_per_second()),
            thousands(one.items_per_second())
        ));
        out.push(format!(
            "bench process peak RSS {}  (client + in-process server of phases 1–3; not a server figure)",
            mib(self.bench_peak_rss_kib)
        ));
        out.join("\n")
    }

    pub fn json(&self) -> Value {
        let (m, s, b, r, one, q) = (
            &self.machine,
            &self.settings,
            &self.batch,
            &self.raw,
            &self.single,
            &self.queued,
        );
        json!({
            "date": self.date,
            "machine": {"cpus": m.cpus, "cpuModel": m.cpu_model, "kernel": m.kernel, "tempFs": m.temp_fs},
            "settings": {
                "workload": s.workload, "items": s.items, "connections": s.connections,
                "singleCalls": s.single_calls, "workers": s.workers, "chunkSize": s.chunk_size,
                "queuedJobs": s.queued_jobs,
            },
            "batch": {
                "items": b.items, "jobs": b.jobs,
                "seconds": b.end_to_end.elapsed.as_secs_f64(), "coresBusy": b.end_to_end.cores_busy, "itemsPerSecond": b.items_per_second(),
                "ingestSeconds": b.ingest.as_secs_f64(), "ingestItemsPerSecond": rate(b.items, b.ingest),
                "engineSeconds": b.processing.map(|p| p.as_secs_f64()),
                "engineItemsPerSecond": b.processing.map(|p| rate(b.items, p)),
                "ingestLatencyMs": latency_json(&b.latency),
            },
            "raw": {"rows": r.rows, "seconds": r.elapsed.elapsed.as_secs_f64(), "coresBusy": r.elapsed.cores_busy, "rowsPerSecond": r.rows_per_second()},
            "single": {
                "calls": one.calls, "seconds": one.elapsed.elapsed.as_secs_f64(), "coresBusy": one.elapsed.cores_busy,
                "itemsPerSecond": one.items_per_second(), "latencyMs": latency_json(&one.latency),
            },
            "queued": {
                "jobs": q.jobs, "items": q.items,
                "serverIdleRssKiB": q.idle.rss_kib, "serverIdlePeakRssKiB": q.idle.peak_kib,
                "serverQueuedRssKiB": q.queued.rss_kib, "serverQueuedPeakRssKiB": q.queued.peak_kib,
                "serverDrainedRssKiB": q.drained.rss_kib, "serverDrainPeakRssKiB": q.drained.peak_kib,
                "targetPeakRssKiB": TARGET_PEAK_KIB,
                "queuedTargetMet": target_met(q.jobs, q.queued.peak_kib),
                "drainTargetMet": target_met(q.jobs, q.drained.peak_kib),
                "ingestSeconds": q.ingest.as_secs_f64(), "ingestItemsPerSecond": q.ingest_items_per_second(),
                "drainSeconds": q.drain.elapsed.as_secs_f64(), "drainServerCoresBusy": q.drain.cores_busy, "drainItemsPerSecond": q.items_per_second(),
                "engineSeconds": q.processing.map(|p| p.as_secs_f64()),
                "engineItemsPerSecond": q.processing.map(|p| rate(q.items, p)),
            },
            "ratios": {"batchOverRaw": self.batch_over_raw(), "batchOverSingle": self.batch_over_single()},
            "benchProcessPeakRssKiB": self.bench_peak_rss_kib,
        })
    }
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    crate::stats::per_second(count, elapsed)
}

fn row(what: &str, elapsed: Duration, per_second: f64, unit: &str) -> String {
    format!(
        "   {what:<50} {:>9.3} s {:>12} {unit}",
        elapsed.as_secs_f64(),
        thousands(per_second)
    )
}

/// A row with the CPU the whole process used meanwhile (server, engine and client alike).
fn timed(what: &str, lap: &Lap, per_second: f64, unit: &str) -> String {
    format!(
        "{}   CPU {:.2} cores",
        row(what, lap.elapsed, per_second, unit),
        lap.cores_busy
    )
}

fn latency(l: &Latencies) -> String {
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.p50, l.p99, l.max
    )
}

fn latency_json(l: &Latencies) -> Value {
    json!({"p50": l.p50, "p99": l.p99, "max": l.max})
}

/// The product target: peak RSS ≤ 256 MiB with 100 queued 1,000-item jobs.
const TARGET_PEAK_KIB: u64 = 256 * 1024;
const TARGET_JOBS: usize = 100;

/// Whether a server peak meets the target; `None` when `jobs` cannot tell
/// (met with fewer jobs, or missed with more, than the target names).
fn target_met(jobs: usize, peak_kib: u64) -> Option<bool> {
    let met = peak_kib <= TARGET_PEAK_KIB;
    (if met {
        jobs >= TARGET_JOBS
    } else {
        jobs <= TARGET_JOBS
    })
    .then_some(met)
}

/// A server memory row: RSS now, its peak since the process started, and the verdict.
fn server_memory(what: &str, s: &Sample, target: Option<bool>) -> String {
    let verdict = match target {
        Some(true) => "   target ≤ 256 MiB: met",
        Some(false) => "   target ≤ 256 MiB: MISSED",
        None => "",
    };
    format!(
        "   {what:<50} peak {:>10}   (RSS now {}){verdict}",
        mib(s.peak_kib),
        mib(s.rss_kib)
    )
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `1234567.8` → `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{TARGET_PEAK_KIB, target_met, thousands};

    #[test]
    fn the_target_is_judged_only_when_the_job_count_allows() {
        assert_eq!(target_met(100, TARGET_PEAK_KIB), Some(true));
        assert_eq!(target_met(100, TARGET_PEAK_KIB + 1), Some(false));
        assert_eq!(target_met(200, 1), Some(true));
        assert_eq!(target_met(50, 1), None);
        assert_eq!(target_met(50, TARGET_PEAK_KIB + 1), Some(false));
        assert_eq!(target_met(200, TARGET_PEAK_KIB + 1), None);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.8), "1,234,568");
    }
}
