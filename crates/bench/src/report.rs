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
    pub peak_rss_kib: u64,
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
            "4. queued jobs: {} jobs × 1,000 items accepted with no worker running",
            q.jobs
        ));
        out.push(format!("   RSS before   {}", memory(&q.before)));
        out.push(format!("   RSS queued   {}", memory(&q.queued)));
        out.push(format!("   RSS drained  {}", memory(&q.drained)));
        if !q.peak_reset {
            out.push("   (the kernel refused to reset the peak: peaks cover the whole run)".into());
        }
        out.push(timed(
            "drain once the engine started",
            &q.drain,
            q.items_per_second(),
            "items/s",
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
        out.push(format!("peak RSS (whole run)   {}", mib(self.peak_rss_kib)));
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
                "jobs": q.jobs, "items": q.items, "peakReset": q.peak_reset,
                "rssBeforeKiB": q.before.rss_kib, "peakBeforeKiB": q.before.peak_kib,
                "rssQueuedKiB": q.queued.rss_kib, "peakQueuedKiB": q.queued.peak_kib,
                "rssDrainedKiB": q.drained.rss_kib, "peakDrainedKiB": q.drained.peak_kib,
                "drainSeconds": q.drain.elapsed.as_secs_f64(), "drainCoresBusy": q.drain.cores_busy, "drainItemsPerSecond": q.items_per_second(),
            },
            "ratios": {"batchOverRaw": self.batch_over_raw(), "batchOverSingle": self.batch_over_single()},
            "peakRssKiB": self.peak_rss_kib,
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

fn memory(s: &Sample) -> String {
    format!("{:>10} (peak {})", mib(s.rss_kib), mib(s.peak_kib))
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
    use super::thousands;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.8), "1,234,568");
    }
}
