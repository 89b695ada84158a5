//! A webhook receiver for tests: an HTTP server on 127.0.0.1 that records every
//! request and answers as the test's plan says (a status, perhaps after a delay).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: String,
    pub signature: String,
    pub body: Vec<u8>,
    /// The status the plan answered with (the sender may have given up before).
    pub answered: u16,
    /// Requests with the same event id being answered when this one arrived.
    pub concurrent: usize,
}

/// How to answer: the status after a delay.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub delay: Duration,
}

impl Answer {
    pub fn ok() -> Answer {
        Answer::status(200)
    }

    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            delay: Duration::ZERO,
        }
    }
}

/// Decides the answer from the event id and how many times it arrived (1 the first).
pub type Plan = Box<dyn FnMut(&str, usize) -> Answer + Send>;

struct State {
    log: Mutex<Vec<Received>>,
    plan: Mutex<Plan>,
    in_flight: Mutex<HashMap<String, usize>>,
    changed: Notify,
}

pub struct Receiver {
    /// Where to register it: `http://127.0.0.1:<port>/hook`.
    pub url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(plan: Plan) -> Receiver {
        let state = Arc::new(State {
            log: Mutex::default(),
            plan: Mutex::new(plan),
            in_flight: Mutex::default(),
            changed: Notify::new(),
        });
        let handler_state = state.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let state = handler_state.clone();
            async move { answer(&state, &headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, state, task }
    }

    /// Answers 200 at once, always.
    pub async fn accepting() -> Receiver {
        Receiver::start(Box::new(|_, _| Answer::ok())).await
    }

    pub fn set_plan(&self, plan: Plan) {
        *self.state.plan.lock().unwrap() = plan;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    /// Event ids answered with a 2xx, each with how many times.
    pub fn delivered(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for r in self.received() {
            if (200..300).contains(&r.answered) {
                *out.entry(r.event_id).or_default() += 1;
            }
        }
        out
    }

    /// Waits (up to `within`) until `done` holds of what arrived; panics with `what` otherwise.
    pub async fn wait_until(
        &self,
        within: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.state.changed.notified();
            if done(&self.state.log.lock().unwrap()) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the receiver never saw {what}: {:?}",
                self.summary()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
        }
    }

    fn summary(&self) -> Vec<(String, u16)> {
        self.received()
            .into_iter()
            .map(|r| (r.event_id, r.answered))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(state: &State, headers: &HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let event_id = header("loyalbatch-event-id");
    let (plan, concurrent) = {
        let mut in_flight = state.in_flight.lock().unwrap();
        let n = in_flight.entry(event_id.clone()).or_default();
        let concurrent = *n;
        *n += 1;
        let mut log = state.log.lock().unwrap();
        let arrivals = log.iter().filter(|r| r.event_id == event_id).count() + 1;
        let plan = (state.plan.lock().unwrap())(&event_id, arrivals);
        log.push(Received {
            event_id: event_id.clone(),
            signature: header("loyalbatch-signature"),
            body: body.to_vec(),
            answered: plan.status,
            concurrent,
        });
        (plan, concurrent)
    };
    // Counted out when answered or when the sender hangs up (the future is dropped).
    let _answering = Answering { state, event_id };
    state.changed.notify_waiters();
    let _ = concurrent;
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    StatusCode::from_u16(plan.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

struct Answering<'a> {
    state: &'a State,
    event_id: String,
}

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.state.in_flight.lock().unwrap().get_mut(&self.event_id) {
            *n -= 1;
        }
        self.state.changed.notify_waiters();
    }
}
