//! A job's run, chunk by chunk: load the raw items, parse them off the async
//! threads, apply and commit; retry what may pass, isolate a poison item, fail
//! what cannot run.

use crate::lease::Backoff;
use crate::{Engine, RunEnd, metrics};
use domain::{ChunkItems, ErrorCode, ItemFailure};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use store::{ChunkWork, Claim, StoreError, add};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, instrument, warn};

impl Engine {
    pub(crate) async fn chunk_loop(
        &self,
        claim: &Claim,
        shutdown: &CancellationToken,
        lost: &CancellationToken,
    ) -> RunEnd {
        let fence = claim.fence;
        let mut cursor = claim.cursor;
        let mut backoff = Backoff::new(self.config.max_backoff);
        let mut failures = 0;
        // While a failing range is searched for its guilty item, chunks are narrowed.
        let mut isolation = Isolation::new(self.config.chunk_size);
        loop {
            if lost.is_cancelled() {
                return RunEnd::Fenced;
            }
            if shutdown.is_cancelled() {
                return RunEnd::Released;
            }
            let size = isolation.chunk_size(cursor);
            let (count, outcome) = match self.store.load_items(fence.job_id, cursor, size).await {
                // No items left to read: the job was stopped (its items are dropped).
                Ok(raw) if raw.is_empty() => return RunEnd::Fenced,
                Ok(raw) => {
                    let count = raw.len() as u32;
                    let outcome = match parse(claim.batch_type, raw).await {
                        Ok(items) => self.apply(claim, cursor, items).await,
                        Err(e) => Err(e),
                    };
                    (count, outcome)
                }
                // The items could not even be read: there is nothing to isolate.
                Err(e) => (0, Err(e)),
            };
            let error = match outcome {
                Ok(committed) => {
                    backoff.reset();
                    failures = 0;
                    cursor = committed.cursor;
                    if let Some(state) = committed.finished {
                        info!(job = fence.job_id, %state, "job finished");
                        return RunEnd::Finished;
                    }
                    continue;
                }
                Err(StoreError::Fenced) => return RunEnd::Fenced,
                Err(e) => e,
            };
            failures += 1;
            warn!(job = fence.job_id, cursor, items = count, failures, error = %error, "a chunk failed");
            // A panic is deterministic: search for its item at once. Another error may
            // be passing (a lost connection): retry first, and search only while the
            // database answers, so an outage never fails good items.
            let deterministic = matches!(error, StoreError::Panicked(_));
            // A database that cannot take more now (busy, or its disk full) fails
            // no item: wait and retry until it can.
            let passing = matches!(error, StoreError::Unavailable(_) | StoreError::StorageFull);
            if passing || (!deterministic && failures < RETRIES_BEFORE_ISOLATING) {
                metrics::chunk_retried(claim.tenant_id, claim.batch_type);
                backoff.wait(shutdown).await;
                continue;
            }
            if !deterministic && self.store.ping().await.is_err() {
                metrics::chunk_retried(claim.tenant_id, claim.batch_type);
                backoff.wait(shutdown).await;
                continue;
            }
            if count > 1 {
                isolation.narrow(cursor, count);
                failures = 0;
                backoff.reset();
                continue;
            }
            // One item alone fails: it fails with 5000, and the job goes on.
            let recorded = if count == 1 {
                self.fail_item(claim, cursor, &error).await
            } else {
                Err(error)
            };
            match recorded {
                Ok(committed) => {
                    backoff.reset();
                    failures = 0;
                    cursor = committed.cursor;
                    if committed.finished.is_some() {
                        return RunEnd::Finished;
                    }
                }
                Err(StoreError::Fenced) => return RunEnd::Fenced,
                // Not even a failure can be recorded here: a job must not hold a
                // worker forever. The cause stays in the log; the tenant sees where it stopped.
                Err(e) if failures >= self.config.chunk_attempts => {
                    warn!(job = fence.job_id, cursor, error = %e, "the job cannot go on");
                    let reason = format!(
                        "an internal error stopped the job at item {cursor}; the items before it were applied"
                    );
                    return self.fail(claim, &reason).await;
                }
                Err(e) => {
                    warn!(job = fence.job_id, cursor, error = %e, "recording an isolated item failed");
                    backoff.wait(shutdown).await;
                }
            }
        }
    }

    /// Applies a chunk; a panic anywhere in it (store or domain) becomes its error.
    #[instrument(name = "chunk", skip_all, fields(chunk.first_index = from, chunk.items = items.len()))]
    async fn apply(
        &self,
        claim: &Claim,
        from: u32,
        items: ChunkItems,
    ) -> Result<store::ChunkCommitted, StoreError> {
        let now = OffsetDateTime::now_utc();
        let work = ChunkWork {
            tenant_id: claim.tenant_id,
            from,
            items,
            now,
            retention: self.config.retention,
            lease_until: add(now, self.config.lease),
        };
        let started = std::time::Instant::now();
        let committed = AssertUnwindSafe(self.store.apply_chunk(claim.fence, work))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(StoreError::from_panic(&*panic)));
        if let Ok(c) = &committed {
            let items = c.cursor.saturating_sub(from);
            metrics::chunk_committed(
                claim.tenant_id,
                claim.batch_type,
                items,
                started.elapsed(),
                c,
            );
        }
        committed
    }

    /// Records the item at `index` as failed with 5000, unapplied; the cause goes to
    /// the log under an id the failure entry names.
    async fn fail_item(
        &self,
        claim: &Claim,
        index: u32,
        cause: &StoreError,
    ) -> Result<store::ChunkCommitted, StoreError> {
        // Read again: the chunk's texts are not kept for a failure that is rare.
        let raw = self.store.load_items(claim.fence.job_id, index, 1).await?;
        let Some((_, text)) = raw.first() else {
            return Err(StoreError::Fenced);
        };
        let incident = incident_id();
        error!(
            job = claim.fence.job_id,
            index,
            request_id = %incident,
            error = %cause,
            "an item caused an internal error; it fails alone and the job goes on"
        );
        let failure = ItemFailure::new(
            ErrorCode::Internal,
            format!("internal error (see server log, requestId {incident})"),
        );
        let items = ChunkItems::failing(claim.batch_type, index, text, failure);
        let committed = self.apply(claim, index, items).await;
        // Counted once it is recorded (a retried recording is not a second item).
        if committed.is_ok() {
            metrics::poison_item_isolated(claim.tenant_id, claim.batch_type);
        }
        committed
    }

    async fn fail(&self, claim: &Claim, reason: &str) -> RunEnd {
        let fence = claim.fence;
        let now = OffsetDateTime::now_utc();
        match self
            .store
            .fail_job(fence, reason, now, self.config.retention)
            .await
        {
            Ok(true) => {
                warn!(job = fence.job_id, reason, "job failed");
                metrics::job_finished(claim.tenant_id, claim.batch_type, wire::JobState::Failed);
            }
            Ok(false) => {}
            Err(e) => {
                warn!(job = fence.job_id, error = %e, "marking the job failed did not work; its lease will lapse")
            }
        }
        RunEnd::Failed
    }
}

/// Consecutive failures of a chunk with an error that may pass (not a panic)
/// before the chunk is searched for a guilty item.
const RETRIES_BEFORE_ISOLATING: u32 = 3;

/// Parses raw items off the async threads (a thousand items is CPU work); a
/// panic while parsing is the chunk's error like any other.
async fn parse(
    batch_type: wire::BatchType,
    raw: Vec<(u32, String)>,
) -> Result<ChunkItems, StoreError> {
    tokio::task::spawn_blocking(move || {
        ChunkItems::parse(batch_type, raw.iter().map(|(i, t)| (*i, t.as_str())))
    })
    .await
    .map_err(|e| match e.try_into_panic() {
        Ok(panic) => StoreError::from_panic(&*panic),
        Err(e) => StoreError::other(e),
    })
}

/// The search for the item that makes a range of a job fail: the failing chunk
/// is halved until one item is alone, then chunks grow back to full size once
/// the cursor has passed the range.
struct Isolation {
    full: u32,
    size: u32,
    /// End of the range known to hold a failing item.
    until: u32,
}

impl Isolation {
    fn new(full: u32) -> Isolation {
        let full = full.max(1);
        Isolation {
            full,
            size: full,
            until: 0,
        }
    }

    /// Items to load at `cursor`.
    fn chunk_size(&mut self, cursor: u32) -> u32 {
        if cursor >= self.until {
            self.size = self.full;
        }
        self.size
    }

    /// The `count` items at `cursor` failed together.
    fn narrow(&mut self, cursor: u32, count: u32) {
        self.until = cursor.saturating_add(count);
        self.size = (count / 2).max(1);
    }
}

/// An id for an internal error, logged with its cause and quoted to the tenant.
fn incident_id() -> String {
    format!("{:024x}", rand::random::<u128>() >> 32)
}
