//! The JSON report: one object with every figure, for tools.

use super::format::{TARGET_PEAK_KIB, lap_json, latency_json, rate, target_met};
use super::{Baseline, POSTGRES_TARGET, Report};
use crate::phases::batch::BatchRun;
use serde_json::{Value, json};

impl Report {
    pub fn json(&self) -> Value {
        let (m, s, one, q) = (&self.machine, &self.settings, &self.single, &self.queued);
        let raw = match &self.baseline {
            Baseline::Raw(r) => json!({
                "kind": "rusqliteUpserts", "rows": r.rows, "rowsPerTransaction": crate::workload::BATCH_SIZE,
                "seconds": r.elapsed.elapsed.as_secs_f64(), "coresBusy": r.elapsed.cores_busy,
                "machineCoresBusy": r.elapsed.machine_cores_busy, "rowsPerSecond": r.rows_per_second(),
            }),
            Baseline::Copy(c) => json!({
                "kind": "binaryCopy", "rows": c.rows, "rowsPerTransaction": c.chunk_rows,
                "seconds": c.chunked.elapsed.as_secs_f64(), "coresBusy": c.chunked.cores_busy,
                "machineCoresBusy": c.chunked.machine_cores_busy, "rowsPerSecond": c.rows_per_second(),
                "oneCopy": merge(lap_json(&c.whole), json!({"rowsPerSecond": c.whole_rows_per_second()})),
            }),
        };
        let mut batch = batch_json(&self.batch);
        if let Some(met) = self.postgres_target_met() {
            batch["targetItemsPerSecond"] = json!(POSTGRES_TARGET);
            batch["targetMet"] = json!(met);
        }
        json!({
            "date": self.date,
            "machine": {"cpus": m.cpus, "cpuModel": m.cpu_model, "kernel": m.kernel, "tempFs": m.temp_fs},
            "backend": {"name": self.backend.name, "server": self.backend.server},
            "settings": {
                "workload": s.workload, "items": s.items, "connections": s.connections,
                "singleCalls": s.single_calls, "workers": s.workers, "chunkSize": s.chunk_size,
                "queuedJobs": s.queued_jobs,
            },
            "batch": batch,
            "raw": raw,
            "single": merge(lap_json(&one.elapsed), json!({
                "calls": one.calls, "itemsPerSecond": one.items_per_second(), "latencyMs": latency_json(&one.latency),
            })),
            "queued": {
                "jobs": q.jobs, "items": q.items,
                "serverIdleRssKiB": q.idle.rss_kib, "serverIdlePeakRssKiB": q.idle.peak_kib,
                "serverQueuedRssKiB": q.queued.rss_kib, "serverQueuedPeakRssKiB": q.queued.peak_kib,
                "serverDrainedRssKiB": q.drained.rss_kib, "serverDrainPeakRssKiB": q.drained.peak_kib,
                "targetPeakRssKiB": TARGET_PEAK_KIB,
                "queuedTargetMet": target_met(q.jobs, q.queued.peak_kib),
                "drainTargetMet": target_met(q.jobs, q.drained.peak_kib),
                "ingestSeconds": q.ingest.as_secs_f64(), "ingestItemsPerSecond": q.ingest_items_per_second(),
                "drainSeconds": q.drain.elapsed.as_secs_f64(), "drainServerCoresBusy": q.drain.cores_busy,
                "drainMachineCoresBusy": q.drain.machine_cores_busy, "drainItemsPerSecond": q.items_per_second(),
                "engineSeconds": q.processing.map(|p| p.as_secs_f64()),
                "engineItemsPerSecond": q.processing.map(|p| rate(q.items, p)),
            },
            "twoNodes": self.two_nodes.as_ref().map(batch_json),
            "ratios": {
                "batchOverRaw": self.batch_over_raw(),
                "batchOverOneCopy": self.batch_over_whole_copy(),
                "batchOverSingle": self.batch_over_single(),
                "twoNodesOverOneNode": self.two_nodes_over_one(),
            },
            "benchProcessPeakRssKiB": self.bench_peak_rss_kib,
        })
    }
}

fn batch_json(b: &BatchRun) -> Value {
    merge(
        lap_json(&b.end_to_end),
        json!({
            "nodes": b.nodes, "items": b.items, "jobs": b.jobs, "itemsPerSecond": b.items_per_second(),
            "ingestSeconds": b.ingest.as_secs_f64(), "ingestItemsPerSecond": rate(b.items, b.ingest),
            "engineSeconds": b.processing.map(|p| p.as_secs_f64()),
            "engineItemsPerSecond": b.processing.map(|p| rate(b.items, p)),
            "ingestLatencyMs": latency_json(&b.latency),
        }),
    )
}

/// `a` with `b`'s fields added (both objects).
fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}
