//! Wall time and the CPU time a whole process used over it (all threads, from /proc/PID/stat), to tell waiting from working.

use anyhow::{Context, Result};
use std::time::{Duration, Instant};

/// Clock ticks per second of /proc times (`USER_HZ`, fixed at 100 in the Linux ABI).
const USER_HZ: u64 = 100;

/// CPU time (user + system) of every thread the process (`self` or a pid) has had so far.
fn process_cpu(process: &str) -> Result<Duration> {
    let path = format!("/proc/{process}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Fields after the parenthesized command name start at field 3; utime and stime are 14 and 15.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("malformed {path}"))?;
    let ticks = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|t| {
            t.parse::<u64>()
                .with_context(|| format!("malformed {path}"))
        })
        .sum::<Result<u64>>()?;
    Ok(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// What a timed stretch took: wall time and how many cores were busy on average.
#[derive(Debug, Clone, Copy)]
pub struct Lap {
    pub elapsed: Duration,
    pub cores_busy: f64,
}

pub struct Stopwatch {
    /// `self` or a pid, as in /proc.
    process: String,
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    /// Counts this process's CPU (the in-process server and the client alike).
    pub fn start() -> Result<Stopwatch> {
        Stopwatch::of("self".to_owned())
    }

    /// Counts the CPU of process `pid` (a child of ours).
    pub fn of_process(pid: u32) -> Result<Stopwatch> {
        Stopwatch::of(pid.to_string())
    }

    fn of(process: String) -> Result<Stopwatch> {
        Ok(Stopwatch {
            cpu: process_cpu(&process)?,
            wall: Instant::now(),
            process,
        })
    }

    /// Time since the start, and the CPU the watched process used meanwhile.
    pub fn lap(&self) -> Result<Lap> {
        let elapsed = self.wall.elapsed();
        let cpu = process_cpu(&self.process)?.saturating_sub(self.cpu);
        Ok(Lap {
            elapsed,
            cores_busy: cpu.as_secs_f64() / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spinning_shows_up_as_cpu_time() {
        let watch = Stopwatch::start().unwrap();
        let until = Instant::now() + Duration::from_millis(200);
        let mut spins = 0u64;
        while Instant::now() < until {
            spins = std::hint::black_box(spins + 1);
        }
        let lap = watch.lap().unwrap();
        assert!(lap.elapsed >= Duration::from_millis(200));
        assert!(lap.cores_busy > 0.3, "{lap:?}");
    }
}
