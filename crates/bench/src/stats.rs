//! Small statistics for the report: latency percentiles and rates.

use std::time::Duration;

/// Latency summary, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latencies {
    /// Nearest-rank percentiles of `samples` (zeros when there are none).
    pub fn of(mut samples: Vec<Duration>) -> Latencies {
        samples.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let rank = |p: f64| {
            let n = samples.len();
            samples
                .get(((p * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1)
                .copied()
                .map_or(0.0, ms)
        };
        Latencies {
            p50: rank(0.50),
            p99: rank(0.99),
            max: samples.last().copied().map_or(0.0, ms),
        }
    }
}

/// `count` per second over `elapsed`.
pub fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// The median of rates (the upper one of an even count).
pub fn median(rates: &[f64]) -> f64 {
    let mut v = rates.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Rates as whole numbers, comma-separated.
pub fn list(rates: &[f64]) -> String {
    rates
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let l = Latencies::of(samples);
        assert_eq!((l.p50, l.p99, l.max), (50.0, 99.0, 100.0));
        let one = Latencies::of(vec![Duration::from_millis(7)]);
        assert_eq!((one.p50, one.p99, one.max), (7.0, 7.0, 7.0));
        let none = Latencies::of(Vec::new());
        assert_eq!((none.p50, none.max), (0.0, 0.0));
    }
}
