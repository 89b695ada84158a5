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
        let stopped = || StoreError::Conflict("the request dispatcher has stopped".into());
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
            let results = server.run(requests).await;
            for (answer, result) in answers.into_iter().zip(results) {
                let _ = answer.send(result);
            }
            drop(slot);
        });
    }
}

/// `results` for `n` requests that all failed with `e` (each caller its own copy).
pub fn all_failed<Resp>(n: usize, e: &StoreError) -> Vec<Result<Resp, StoreError>> {
    (0..n).map(|_| Err(e.copy_for_another_caller())).collect()
}
