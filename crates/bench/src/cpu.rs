//! Wall time, the CPU time a whole process used over it (all threads, /proc/PID/stat) and the whole machine's (/proc/stat), to tell waiting from working.

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

/// CPU time every core of the machine spent busy so far (anything but idle and I/O wait):
/// the benchmark, and a PostgreSQL server on the same machine, alike.
fn machine_cpu() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .context("no cpu line in /proc/stat")?;
    // user nice system idle iowait irq softirq steal (guest times are within user).
    let ticks = line
        .split_whitespace()
        .take(8)
        .map(|t| t.parse::<u64>().context("malformed /proc/stat"))
        .collect::<Result<Vec<u64>>>()?;
    let busy: u64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    Ok(Duration::from_millis(busy * 1000 / USER_HZ))
}

/// What a timed stretch took: wall time and how many cores were busy on average,
/// in the watched process and on the whole machine.
#[derive(Debug, Clone, Copy)]
pub struct Lap {
    pub elapsed: Duration,
    pub cores_busy: f64,
    pub machine_cores_busy: f64,
}

pub struct Stopwatch {
    /// `self` or a pid, as in /proc.
    process: String,
    wall: Instant,
    cpu: Duration,
    machine: Duration,
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
            machine: machine_cpu()?,
            wall: Instant::now(),
            process,
        })
    }

    /// Time since the start, and the CPU the watched process and the machine used meanwhile.
    pub fn lap(&self) -> Result<Lap> {
        let elapsed = self.wall.elapsed();
        let cpu = process_cpu(&self.process)?.saturating_sub(self.cpu);
        let machine = machine_cpu()?.saturating_sub(self.machine);
        let cores =
            |busy: Duration| busy.as_secs_f64() / elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        Ok(Lap {
            elapsed,
            cores_busy: cores(cpu),
            machine_cores_busy: cores(machine),
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
        assert!(lap.machine_cores_busy > 0.3, "{lap:?}");
    }
}
