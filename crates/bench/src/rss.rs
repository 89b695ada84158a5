//! A process's memory as Linux reports it (/proc/PID/status): resident now and its peak since the process started.

use anyhow::{Context, Result};

/// Resident memory now (`VmRSS`) and its peak since the process started (`VmHWM`), in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub rss_kib: u64,
    pub peak_kib: u64,
    /// Of `rss_kib`: the process's own memory (`RssAnon`) and file pages it
    /// maps (`RssFile`: SQLite's memory-mapped database, counted once per
    /// connection that maps a page, though the pages are the OS cache's).
    pub anon_kib: u64,
    pub file_kib: u64,
}

/// This process.
pub fn of_self() -> Result<Sample> {
    read("/proc/self/status")
}

/// Another process (a child of ours).
pub fn of_process(pid: u32) -> Result<Sample> {
    read(&format!("/proc/{pid}/status"))
}

fn read(path: &str) -> Result<Sample> {
    let status = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {name} in {path}"))
    };
    Ok(Sample {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
        anon_kib: field("RssAnon:")?,
        file_kib: field("RssFile:")?,
    })
}
