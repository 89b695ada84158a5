//! Formatting shared by the text and JSON reports: rates, rows, latencies, memory and the memory target.

use crate::cpu::Lap;
use crate::rss::Sample;
use crate::stats::Latencies;
use serde_json::{Value, json};
use std::time::Duration;

pub fn rate(count: usize, elapsed: Duration) -> f64 {
    crate::stats::per_second(count, elapsed)
}

pub fn row(what: &str, elapsed: Duration, per_second: f64, unit: &str) -> String {
    format!(
        "   {what:<50} {:>9.3} s {:>12} {unit}",
        elapsed.as_secs_f64(),
        thousands(per_second)
    )
}

/// A row with the CPU the measured process used meanwhile (server, engine and client
/// alike), and the whole machine's (a local PostgreSQL server included).
pub fn timed(what: &str, lap: &Lap, per_second: f64, unit: &str) -> String {
    format!(
        "{}   CPU {:.2} cores, machine {:.2}",
        row(what, lap.elapsed, per_second, unit),
        lap.cores_busy,
        lap.machine_cores_busy
    )
}

/// A lap as JSON fields.
pub fn lap_json(lap: &Lap) -> Value {
    json!({
        "seconds": lap.elapsed.as_secs_f64(),
        "coresBusy": lap.cores_busy,
        "machineCoresBusy": lap.machine_cores_busy,
    })
}

pub fn latency(l: &Latencies) -> String {
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.p50, l.p99, l.max
    )
}

pub fn latency_json(l: &Latencies) -> Value {
    json!({"p50": l.p50, "p99": l.p99, "max": l.max})
}

/// The product target: peak RSS ≤ 256 MiB with 100 queued 1,000-item jobs.
pub const TARGET_PEAK_KIB: u64 = 256 * 1024;
const TARGET_JOBS: usize = 100;

/// Whether a server peak meets the target; `None` when `jobs` cannot tell
/// (met with fewer jobs, or missed with more, than the target names).
pub fn target_met(jobs: usize, peak_kib: u64) -> Option<bool> {
    let met = peak_kib <= TARGET_PEAK_KIB;
    (if met {
        jobs >= TARGET_JOBS
    } else {
        jobs <= TARGET_JOBS
    })
    .then_some(met)
}

/// A server memory row: RSS now, its peak since the process started, and the verdict.
pub fn server_memory(what: &str, s: &Sample, target: Option<bool>) -> String {
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

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `1234567.8` → `1,234,568`.
pub fn thousands(x: f64) -> String {
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
