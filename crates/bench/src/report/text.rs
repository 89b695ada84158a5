//! The plain-text report, one section per phase, then the ratios.

use super::format::{latency, mib, rate, row, server_memory, target_met, thousands, timed};
use super::{Baseline, POSTGRES_TARGET, Report};
use crate::phases::batch::BatchRun;
use crate::phases::copy::CopyRun;
use crate::phases::queued::QueuedRun;
use crate::phases::raw::RawRun;
use crate::report::Settings;
use crate::workload::BATCH_SIZE;

impl Report {
    pub fn text(&self) -> String {
        let (m, s) = (&self.machine, &self.settings);
        let mut out = Vec::new();
        out.push(format!(
            "loyalbatch-bench — {} workload on {}",
            s.workload, self.backend.name
        ));
        out.push(format!("date      {}", self.date));
        // The temporary directory holds the databases on SQLite only.
        let temp_fs = match self.backend.server {
            None => format!(", temp dir on {}", m.temp_fs),
            Some(_) => String::new(),
        };
        out.push(format!(
            "machine   {} CPUs, {}, Linux {}{temp_fs}",
            m.cpus, m.cpu_model, m.kernel
        ));
        out.push(match &self.backend.server {
            Some(server) => format!(
                "backend   postgresql: {server}; a throwaway database per phase, created and dropped by the run"
            ),
            None => "backend   sqlite: a temporary database file per phase".to_owned(),
        });
        out.push(format!(
            "settings  --items {} --connections {} --single-calls {} --workers {} --chunk-size {} --queued-jobs {}",
            s.items, s.connections, s.single_calls, s.workers, s.chunk_size, s.queued_jobs
        ));
        out.push("          (CPU: cores the benchmark process kept busy, server and client; machine: all cores busy, database server included)".to_owned());
        out.push(String::new());

        out.push(format!(
            "1. batch end to end: {} items in {} requests of ≤1,000 over {} connections",
            thousands(self.batch.items as f64),
            self.batch.jobs,
            s.connections
        ));
        batch_rows(&mut out, &self.batch);
        if let Some(met) = self.postgres_target_met() {
            out.push(format!(
                "   target ≥ {} items/s end to end on one node: {}",
                thousands(POSTGRES_TARGET),
                if met { "met" } else { "MISSED" }
            ));
        }
        match &self.baseline {
            Baseline::Raw(r) => raw_rows(&mut out, r),
            Baseline::Copy(c) => copy_rows(&mut out, c),
        }
        let one = &self.single;
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
        queued_rows(&mut out, s, &self.queued);
        if let Some(two) = &self.two_nodes {
            out.push(format!(
                "5. two nodes: {} in-process servers on one database (a store pool, an engine of {} workers and an HTTP server each), {} items in {} requests alternating between them, {} in flight in total",
                two.nodes,
                s.workers,
                thousands(two.items as f64),
                two.jobs,
                s.connections
            ));
            batch_rows(&mut out, two);
        }
        out.push(String::new());
        self.ratio_rows(&mut out);
        out.join("\n")
    }

    fn ratio_rows(&self, out: &mut Vec<String>) {
        let b = self.batch.items_per_second();
        let baseline = match &self.baseline {
            Baseline::Raw(_) => "batch ÷ raw baseline  ",
            Baseline::Copy(_) => "batch ÷ 1,000-row COPY",
        };
        out.push(format!(
            "{baseline}    {:.2}  ({} vs {} per second)",
            self.batch_over_raw(),
            thousands(b),
            thousands(self.baseline.rows_per_second())
        ));
        if let (Some(ratio), Baseline::Copy(c)) = (self.batch_over_whole_copy(), &self.baseline) {
            out.push(format!(
                "batch ÷ one COPY          {ratio:.2}  ({} vs {} per second)",
                thousands(b),
                thousands(c.whole_rows_per_second())
            ));
        }
        out.push(format!(
            "batch ÷ single-call       {:.1}×  ({} vs {} per second)",
            self.batch_over_single(),
            thousands(b),
            thousands(self.single.items_per_second())
        ));
        if let (Some(ratio), Some(two)) = (self.two_nodes_over_one(), &self.two_nodes) {
            out.push(format!(
                "two nodes ÷ one node      {ratio:.2}  ({} vs {} per second, both on this machine's {} CPUs)",
                thousands(two.items_per_second()),
                thousands(b),
                self.machine.cpus
            ));
        }
        out.push(format!(
            "bench process peak RSS    {}  (client + the in-process servers; not a server figure)",
            mib(self.bench_peak_rss_kib)
        ));
    }
}

fn batch_rows(out: &mut Vec<String>, b: &BatchRun) {
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
}

fn raw_rows(out: &mut Vec<String>, r: &RawRun) {
    out.push(format!(
        "2. raw rusqlite baseline: {} upserts, {}-row transactions, WAL + synchronous=FULL",
        thousands(r.rows as f64),
        thousands(BATCH_SIZE as f64)
    ));
    out.push(timed(
        "raw upserts",
        &r.elapsed,
        r.rows_per_second(),
        "rows/s",
    ));
}

fn copy_rows(out: &mut Vec<String>, c: &CopyRun) {
    out.push(format!(
        "2. raw binary COPY baseline: the same {} rows into the same customers table (its primary key and unique index), one connection",
        thousands(c.rows as f64)
    ));
    out.push(timed(
        &format!(
            "{}-row COPYs, each committed on its own",
            thousands(c.chunk_rows as f64)
        ),
        &c.chunked,
        c.rows_per_second(),
        "rows/s",
    ));
    out.push(timed(
        "one COPY of every row (table emptied first)",
        &c.whole,
        c.whole_rows_per_second(),
        "rows/s",
    ));
}

fn queued_rows(out: &mut Vec<String>, s: &Settings, q: &QueuedRun) {
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
        "{}   server CPU {:.2} cores, machine {:.2}",
        row(
            &format!(
                "drain by a new server, {} workers (start → empty)",
                s.workers
            ),
            q.drain.elapsed,
            q.items_per_second(),
            "items/s",
        ),
        q.drain.cores_busy,
        q.drain.machine_cores_busy
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
}
