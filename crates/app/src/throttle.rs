//! Failed credential checks are throttled per apikey and per client address:
//! past a few failures in a minute, the next check is refused (429 with
//! `Retry-After`) without being made, so keys cannot be guessed at speed.
//! Counts are per node (several nodes each allow as many).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How many keys (apikeys and addresses) are remembered at most: past it the
/// oldest windows are forgotten first (memory stays bounded whatever is tried).
const MAX_KEYS: usize = 100_000;

/// Failures counted in a fixed window per key.
struct Windows {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
    /// Keys held (read without the lock: no failure anywhere, nothing to check).
    held: AtomicUsize,
}

impl Windows {
    fn new(limit: u32, window: Duration) -> Windows {
        Windows {
            limit: limit.max(1),
            window,
            counts: Mutex::default(),
            held: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, u32)>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long `key` is refused for, if it is.
    fn refused(&self, key: &str, now: Instant) -> Option<Duration> {
        if self.held.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let counts = self.lock();
        let (start, n) = counts.get(key)?;
        let ends = *start + self.window;
        (*n >= self.limit && ends > now).then(|| ends - now)
    }

    /// Counts a failure; `true` when it is the one that reaches the limit.
    fn failed(&self, key: &str, now: Instant) -> bool {
        let mut counts = self.lock();
        if counts.len() >= MAX_KEYS {
            counts.retain(|_, (start, _)| *start + self.window > now);
            if counts.len() >= MAX_KEYS {
                counts.clear();
            }
        }
        let entry = counts.entry(key.to_owned()).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let reached = entry.1 == self.limit;
        self.held.store(counts.len(), Ordering::Relaxed);
        reached
    }

    fn cleared(&self, key: &str) {
        if self.held.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut counts = self.lock();
        counts.remove(key);
        self.held.store(counts.len(), Ordering::Relaxed);
    }
}

/// The two throttles of credential checks.
pub(crate) struct Throttle {
    per_apikey: Windows,
    per_address: Windows,
}

/// Who a check is for: the apikey tried and where from.
pub(crate) struct Attempt<'a> {
    pub apikey: &'a str,
    pub from: Option<IpAddr>,
}

impl Throttle {
    pub(crate) fn new(per_apikey: u32, per_address: u32, window: Duration) -> Throttle {
        Throttle {
            per_apikey: Windows::new(per_apikey, window),
            per_address: Windows::new(per_address, window),
        }
    }

    fn address(from: Option<IpAddr>) -> Option<String> {
        from.map(|ip| ip.to_string())
    }

    /// How long this attempt must wait, when its apikey or address is throttled.
    pub(crate) fn refused(&self, a: &Attempt<'_>) -> Option<Duration> {
        let now = Instant::now();
        let by_key = self.per_apikey.refused(a.apikey, now);
        let by_address =
            Throttle::address(a.from).and_then(|ip| self.per_address.refused(&ip, now));
        by_key.max(by_address)
    }

    /// Counts a failed check; `true` when it throttles its apikey or address.
    pub(crate) fn failed(&self, a: &Attempt<'_>) -> bool {
        let now = Instant::now();
        let by_key = self.per_apikey.failed(a.apikey, now);
        let by_address =
            Throttle::address(a.from).is_some_and(|ip| self.per_address.failed(&ip, now));
        by_key || by_address
    }

    /// A successful check clears its apikey's failures.
    pub(crate) fn succeeded(&self, a: &Attempt<'_>) {
        self.per_apikey.cleared(a.apikey);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_limit_are_refused_until_the_window_ends() {
        let t = Throttle::new(3, 5, Duration::from_secs(60));
        let ip = Some("192.0.2.7".parse().unwrap());
        let a = Attempt {
            apikey: "k",
            from: ip,
        };
        assert!(t.refused(&a).is_none());
        assert!(!t.failed(&a) && !t.failed(&a));
        assert!(t.failed(&a), "the third failure reaches the limit");
        let wait = t.refused(&a).expect("throttled");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        // Another apikey from the same address: its own count, the address's shared.
        let other = Attempt {
            apikey: "other",
            from: ip,
        };
        assert!(t.refused(&other).is_none());
        assert!(!t.failed(&other));
        assert!(t.failed(&other), "the address's fifth failure");
        let elsewhere = Attempt {
            apikey: "other",
            from: Some("198.51.100.1".parse().unwrap()),
        };
        assert!(
            t.refused(&elsewhere).is_none(),
            "another address, other apikey"
        );
        t.succeeded(&a);
        assert!(
            t.refused(&Attempt {
                apikey: "k",
                from: None
            })
            .is_none(),
            "cleared by a success"
        );
    }

    #[test]
    fn an_old_window_starts_again() {
        let w = Windows::new(1, Duration::from_millis(10));
        let t0 = Instant::now();
        assert!(w.failed("k", t0));
        assert!(w.refused("k", t0).is_some());
        let later = t0 + Duration::from_millis(11);
        assert!(w.refused("k", later).is_none());
        assert!(w.failed("k", later), "a new window counts from one");
    }
}
