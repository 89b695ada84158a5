//! Requests that arrive together are served together: a caller's request
//! waits in a queue; a dispatcher hands everything queued (up to a group's
//! size) to one [`Grouped::run`] and answers each caller with its own result.
//! A few groups may be in flight at once; while they are, the queue fills and
//! the next group is larger, so the cost a group shares (a commit's fsync, a
//! round trip, a statement) is spread thinner the busier the node is.
//!
//! Used for single calls that write ([`crate::singles`]) and, on PostgreSQL,
//! for balance reads.

use crate::types::StoreError;
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// What serves a group of requests.
#[async_trait]
pub trait Grouped<Req: Send + 'static, Resp: Send + 'static>: Send + Sync + 'static {
    /// Each request's result, in the requests' order.
    async fn run(&self, requests: Vec<Req>) -> Vec<Result<Resp, StoreError>>;
}

type Answer<Resp> = oneshot::Sender<Result<Resp, StoreError>>;

/// Requests queued beyond these wait to be queued.
const QUEUE: usize = 4096;

/// The queue and the dispatcher behind it.
pub struct Batcher<Req, Resp> {
    queue: mpsc::Sender<(Req, Answer<Resp>)>,
}

impl<Req: Send + 'static, Resp: Send + 'static> Batcher<Req, Resp> {
    /// Starts the dispatcher on the current runtime: at most `in_flight`
    /// groups of at most `size` requests at once. It ends when the batcher is
    /// dropped.
    pub fn start(
        server: Arc<dyn Grouped<Req, Resp>>,
        in_flight: usize,
        size: usize,
    ) -> Batcher<Req, Resp> {
        let (queue, requests) = mpsc::channel(QUEUE);
        tokio::spawn(dispatch(server, requests, in_flight.max(1), size.max(1)));
        Batcher { queue }
    }

    /// Serves `request` in the next group; answers once that group is done.
    pub async fn call(&self, request: Req) -> Result<Resp, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send((request, answer))
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn dispatch<Req: Send + 'static, Resp: Send + 'static>(
    server: Arc<dyn Grouped<Req, Resp>>,
    mut requests: mpsc::Receiver<(Req, Answer<Resp>)>,
    in_flight: usize,
    size: usize,
) {
    let slots = Arc::new(Semaphore::new(in_flight));
    while let Some(first) = requests.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < size {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let server = server.clone();
        tokio::spawn(async move {
            let (requests, answers): (Vec<Req>, Vec<Answer<Resp>>) = group.into_iter().unzip();
            // On a task of its own: a panic (a bug) is each caller's error, not
            // a dropped answer, and the slot is given back either way.
            let results = match tokio::spawn(async move { server.run(requests).await }).await {
                Ok(results) => results,
                Err(e) if e.is_panic() => {
                    all_failed(answers.len(), &StoreError::from_panic(&*e.into_panic()))
                }
                Err(_) => all_failed(answers.len(), &stopped()),
            };
            for (answer, result) in answers.into_iter().zip(results) {
                let _ = answer.send(result);
            }
            drop(slot);
        });
    }
}

/// The dispatcher's runtime is shutting down (the node is stopping).
fn stopped() -> StoreError {
    StoreError::Unavailable("the node is shutting down".into())
}

/// `results` for `n` requests that all failed with `e` (each caller its own copy).
pub fn all_failed<Resp>(n: usize, e: &StoreError) -> Vec<Result<Resp, StoreError>> {
    (0..n).map(|_| Err(e.copy_for_another_caller())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::sync::Notify;

    /// Doubles each number; records each group's size; the first group waits
    /// for `release`; a 13 panics.
    struct Doubler {
        groups: Mutex<Vec<usize>>,
        release: Notify,
    }

    #[async_trait]
    impl Grouped<u32, u32> for Doubler {
        async fn run(&self, requests: Vec<u32>) -> Vec<Result<u32, StoreError>> {
            let first = {
                let mut groups = self.groups.lock().unwrap();
                groups.push(requests.len());
                groups.len() == 1
            };
            if first {
                self.release.notified().await;
            }
            assert!(!requests.contains(&13), "unlucky");
            requests.into_iter().map(|r| Ok(r * 2)).collect()
        }
    }

    #[tokio::test]
    async fn requests_queued_while_a_group_runs_are_served_together_each_with_its_own_answer() {
        let doubler = Arc::new(Doubler {
            groups: Mutex::new(Vec::new()),
            release: Notify::new(),
        });
        let batcher = Arc::new(Batcher::start(doubler.clone(), 1, 64));
        let first = tokio::spawn({
            let b = batcher.clone();
            async move { b.call(1).await }
        });
        // The first group has started (and waits) before the others queue.
        while doubler.groups.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        // Queued as `call` queues them, but known to be queued once sent.
        let mut rest = Vec::new();
        for n in 2..=6 {
            let (answer, answered) = oneshot::channel();
            batcher.queue.send((n, answer)).await.unwrap();
            rest.push(answered);
        }
        doubler.release.notify_one();
        assert_eq!(first.await.unwrap().unwrap(), 2);
        for (n, answered) in (2..=6).zip(rest) {
            assert_eq!(answered.await.unwrap().unwrap(), n * 2);
        }
        assert_eq!(*doubler.groups.lock().unwrap(), [1, 5]);
    }

    #[tokio::test]
    async fn a_group_that_panics_answers_each_caller_with_the_panic_and_the_next_is_served() {
        let doubler = Arc::new(Doubler {
            groups: Mutex::new(vec![0]),
            release: Notify::new(),
        });
        let batcher = Batcher::start(doubler, 1, 64);
        let panicked = batcher.call(13).await;
        assert!(matches!(panicked, Err(StoreError::Panicked(m)) if m == "unlucky"));
        assert_eq!(batcher.call(4).await.unwrap(), 8);
    }
}
