//! The process's memory as Linux reports it (/proc/self/status), with a resettable peak and the peak of the whole run.

use anyhow::{Context, Result};
use std::sync::atomic::{AtomicU64, Ordering};

/// Peaks seen before a reset, so the run's overall peak survives resets.
static EARLIER_PEAK_KIB: AtomicU64 = AtomicU64::new(0);

/// Resident memory now and its peak (since start or the last reset), in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

pub fn sample() -> Result<Sample> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {name} in /proc/self/status"))
    };
    Ok(Sample {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// Resets the peak to the current RSS (Linux `clear_refs` 5); `false` when the kernel refused.
pub fn reset_peak() -> Result<bool> {
    EARLIER_PEAK_KIB.fetch_max(sample()?.peak_kib, Ordering::Relaxed);
    Ok(std::fs::write("/proc/self/clear_refs", "5").is_ok())
}

/// The highest resident memory of the whole run so far, in KiB.
pub fn overall_peak_kib() -> Result<u64> {
    Ok(EARLIER_PEAK_KIB
        .load(Ordering::Relaxed)
        .max(sample()?.peak_kib))
}
