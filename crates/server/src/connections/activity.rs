//! What one connection is doing, for its watchdog: idle, reading a request's
//! head, or with requests in flight — and, for each response being sent, since
//! when it has waited for the client to take more of it, and how many of its
//! bytes are still unsent.

use super::ConnectionSettings;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    ReadingHead,
    InFlight,
}

/// The unsent bytes of every connection's responses together (one per node).
#[derive(Default)]
pub(super) struct NodeUnsent(AtomicUsize);

impl NodeUnsent {
    pub(super) fn bytes(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// The responses of one connection being sent.
#[derive(Default)]
struct Sends {
    next_id: u64,
    /// Per response: since when it has waited for the connection to take its
    /// next part (`None` while it is the server that has nothing to send yet,
    /// as an event stream between events).
    waiting: HashMap<u64, Option<Instant>>,
    /// Bytes of this connection's response bodies not yet taken.
    unsent: usize,
    /// Since when the socket has refused more bytes (the client reads none).
    write_blocked: Option<Instant>,
}

/// Shared between a connection's socket wrapper, its service, its response
/// bodies and its watchdog.
pub(super) struct Activity {
    in_flight: AtomicUsize,
    /// The phase and since when.
    phase: Mutex<(Phase, Instant)>,
    /// Woken when the phase changes: the watchdog's deadline moves.
    changed: Notify,
    /// The client spoke HTTP/2 (its reads are frames, not heads).
    http2: AtomicBool,
    sends: Mutex<Sends>,
    node: Arc<NodeUnsent>,
}

impl Activity {
    pub(super) fn new(node: Arc<NodeUnsent>) -> Activity {
        Activity {
            in_flight: AtomicUsize::new(0),
            phase: Mutex::new((Phase::Idle, Instant::now())),
            changed: Notify::new(),
            http2: AtomicBool::new(false),
            sends: Mutex::default(),
            node,
        }
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = (phase, Instant::now());
        self.changed.notify_one();
    }

    pub(super) fn current(&self) -> (Phase, Instant) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived: an idle HTTP/1 connection starts reading a request's
    /// head. The first bytes tell an HTTP/2 client (its preface).
    pub(super) fn read(&self, first: bool, bytes: &[u8]) {
        if first && bytes.starts_with(b"PRI * HTTP/2") {
            self.http2.store(true, Ordering::Relaxed);
        }
        if self.is_http2() {
            return;
        }
        let idle = self.current().0 == Phase::Idle;
        if idle {
            self.set(Phase::ReadingHead);
        }
    }

    pub(super) fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Relaxed)
    }

    pub(super) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.set(Phase::InFlight);
    }

    pub(super) fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.set(Phase::Idle);
        }
    }

    /// A response begins to be sent, `bytes` of it known in advance (its
    /// whole body, when it is not streamed); it waits for the connection.
    pub(super) fn send_started(&self, bytes: usize) -> u64 {
        let mut sends = self.sends.lock().unwrap_or_else(|p| p.into_inner());
        let id = sends.next_id;
        sends.next_id += 1;
        sends.waiting.insert(id, Some(Instant::now()));
        sends.unsent = sends.unsent.saturating_add(bytes);
        self.node.0.fetch_add(bytes, Ordering::Relaxed);
        id
    }

    /// The connection took `bytes` of a response's known bytes; `waiting`
    /// says whether the response now waits for the connection again.
    pub(super) fn sent(&self, id: u64, bytes: usize, waiting: bool) {
        let mut sends = self.sends.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = sends.waiting.get_mut(&id) {
            *w = waiting.then(Instant::now);
        }
        sends.unsent = sends.unsent.saturating_sub(bytes);
        self.node.0.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// A response is sent or dropped, `bytes` of it never taken.
    pub(super) fn send_ended(&self, id: u64, bytes: usize) {
        let mut sends = self.sends.lock().unwrap_or_else(|p| p.into_inner());
        sends.waiting.remove(&id);
        sends.unsent = sends.unsent.saturating_sub(bytes);
        self.node.0.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes of this connection's responses not yet taken.
    pub(super) fn unsent(&self) -> usize {
        self.sends.lock().unwrap_or_else(|p| p.into_inner()).unsent
    }

    /// The socket took no more bytes (`blocked`), or took some.
    pub(super) fn write_blocked(&self, blocked: bool) {
        let mut sends = self.sends.lock().unwrap_or_else(|p| p.into_inner());
        if !blocked {
            sends.write_blocked = None;
        } else if sends.write_blocked.is_none() {
            sends.write_blocked = Some(Instant::now());
        }
    }

    /// Since when the connection has failed to send: the longest-waiting
    /// response has waited for it, or its socket has taken nothing.
    fn stalled_since(&self) -> Option<Instant> {
        let sends = self.sends.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = sends.waiting.values().flatten().min().copied();
        waiting.into_iter().chain(sends.write_blocked).min()
    }
}

/// Why the watchdog closed a connection.
pub(super) enum Expired {
    /// Silent between requests.
    Idle,
    /// A request's head did not arrive in time.
    Head,
    /// A response waited longer than the send timeout for the client to take it.
    Stalled,
}

/// Waits until the connection has been in one phase too long, or has failed
/// to send for longer than the send timeout.
pub(super) async fn watchdog(activity: &Activity, settings: &ConnectionSettings) -> Expired {
    loop {
        let (phase, since) = activity.current();
        let phase_deadline = match phase {
            Phase::Idle => Some(since + settings.idle_timeout),
            Phase::ReadingHead => Some(since + settings.header_timeout),
            Phase::InFlight => None,
        };
        // A send stalled since `t` expires at `t + send_timeout`; with none
        // stalled, none can expire before `now + send_timeout`.
        let send_deadline =
            activity.stalled_since().unwrap_or_else(Instant::now) + settings.send_timeout;
        let deadline = phase_deadline.map_or(send_deadline, |d| d.min(send_deadline));
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = activity.changed.notified() => continue,
        }
        let now = Instant::now();
        if activity
            .stalled_since()
            .is_some_and(|t| t + settings.send_timeout <= now)
        {
            return Expired::Stalled;
        }
        if activity.current() == (phase, since) && phase_deadline.is_some_and(|d| d <= now) {
            return match phase {
                Phase::ReadingHead => Expired::Head,
                _ => Expired::Idle,
            };
        }
    }
}

/// How long an HTTP/2 connection's keep-alive pings wait between them and
/// for their answer (a peer that stops answering is closed).
pub(super) const HTTP2_KEEP_ALIVE: Duration = Duration::from_secs(20);
