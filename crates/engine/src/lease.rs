//! Keeping a claim: the heartbeat that renews a job's lease, and the backoff
//! between attempts at a store that does not answer.

use std::sync::Arc;
use std::time::Duration;
use store::{EngineStore, add};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Renews the lease every third of its length; cancels `lost` when the fence
/// broke, then waits forever (the run ends through `lost`).
pub(crate) async fn heartbeat(
    store: Arc<dyn EngineStore>,
    fence: store::Fence,
    lease: Duration,
    lost: CancellationToken,
) -> std::convert::Infallible {
    let every = lease / 3;
    loop {
        tokio::time::sleep(every).await;
        match store
            .renew_lease(fence, add(OffsetDateTime::now_utc(), lease))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                debug!(job = fence.job_id, "lease lost (stopped or taken over)");
                lost.cancel();
                return std::future::pending().await;
            }
            Err(e) => warn!(job = fence.job_id, error = %e, "renewing the lease failed"),
        }
    }
}

/// Exponential backoff for transient store errors: 50 ms doubling to `max`.
pub(crate) struct Backoff {
    attempts: u32,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Backoff {
        Backoff { attempts: 0, max }
    }

    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }

    pub(crate) async fn wait(&mut self, shutdown: &CancellationToken) {
        let delay = Duration::from_millis(50u64 << self.attempts.min(7)).min(self.max);
        self.attempts += 1;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}
