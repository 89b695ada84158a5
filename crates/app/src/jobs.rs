//! Jobs, whichever door asks: create (limits, idempotency, the queue and its
//! `Retry-After`, waking the workers, the metrics), status, stop, retry, list,
//! a job's results and failed items, and the rows the event streams follow.

use crate::FailedItems;
use crate::gate::{Place, TenantCount};
use crate::paging::{Page, PageQuery, Paging};
use crate::{Conflict, Error, Settings, metrics};
use domain::outcome::join_fragments;
use engine::Waker;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{
    Idempotency, JobCreation, JobFilter, JobId, JobRecord, JobStore, NewJob, ResultChunk,
    RetryOutcome, StopOutcome, StoreError, TenantId, segment_items,
};
use time::OffsetDateTime;
use wire::{BatchType, ErrorCode, JobList, JobResults, JobState, JobStatus, JobStopped};

/// The jobs listing's bounds (`GET /batch`).
pub const LISTING: Paging = Paging {
    default: 50,
    max: 200,
    cursor: "after",
    what: "a job id",
};

/// A batch request as received: its type, its items (raw JSON texts, parsed
/// only when they run), and its `Idempotency-Key` with the body it names.
pub struct Batch<'a> {
    pub batch_type: BatchType,
    pub items: Vec<&'a str>,
    /// The header's bytes as sent.
    pub idempotency_key: Option<&'a [u8]>,
    /// The request body as received: a key names this exact body and type.
    pub body: &'a [u8],
}

/// What the jobs listing asks for (already parsed).
#[derive(Debug, Clone, Copy, Default)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub batch_type: Option<BatchType>,
    pub limit: u32,
    /// Only jobs older than this one (the previous page's `next`).
    pub after: Option<JobId>,
}

impl JobQuery {
    /// The listing's query string values, each refused by name when wrong.
    pub fn parse(
        status: Option<&str>,
        batch_type: Option<&str>,
        page: PageQuery,
    ) -> Result<JobQuery, Error> {
        let state = status
            .filter(|s| !s.is_empty())
            .map(|s| {
                JobState::parse(s)
                    .ok_or_else(|| Error::invalid(format!("status: unknown job status '{s}'")))
            })
            .transpose()?;
        let batch_type = batch_type
            .filter(|s| !s.is_empty())
            .map(|s| {
                BatchType::parse(s)
                    .ok_or_else(|| Error::invalid(format!("type: unknown batch type '{s}'")))
            })
            .transpose()?;
        let (limit, after) = LISTING.read(page)?;
        Ok(JobQuery {
            state,
            batch_type,
            limit,
            after,
        })
    }
}

/// A job's results parsed once: its row and both arrays of entries.
pub struct JobResultsView {
    pub job: JobRecord,
    pub successful: Vec<Value>,
    pub failed: Vec<Value>,
}

/// A job's id from a path: a positive integer, anything else unknown (404).
pub fn job_id(key: &str) -> Result<JobId, Error> {
    key.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::job_not_found(key))
}

/// A batch holds 1 to `max` objects (3016 when empty, 3011 beyond).
pub fn check_item_count(count: usize, max: usize) -> Result<(), Error> {
    if count == 0 {
        return Err(Error::refused(
            ErrorCode::MalformedPayload,
            "body: must not be empty",
        ));
    }
    if count > max {
        return Err(Error::refused(
            ErrorCode::LimitExceeded,
            format!("body: {count} objects exceed the limit of {max} per request"),
        ));
    }
    Ok(())
}

/// The `Idempotency-Key`: 1 to 255 visible ASCII characters, fingerprinted
/// with the batch type and the exact body (another type or body is a 4009).
fn idempotency(key: &[u8], batch_type: BatchType, body: &[u8]) -> Result<Idempotency, Error> {
    let visible = |b: &u8| *b == b'\t' || (32..127).contains(b);
    if key.is_empty() || key.len() > 255 || !key.iter().all(visible) {
        return Err(Error::invalid(
            "Idempotency-Key: must be 1 to 255 visible ASCII characters",
        ));
    }
    let mut hash = Sha256::new();
    hash.update(batch_type.as_str().as_bytes());
    hash.update(b"\n");
    hash.update(body);
    Ok(Idempotency {
        key: String::from_utf8_lossy(key).into_owned(),
        body_hash: hex::encode(hash.finalize()),
    })
}

fn results(chunks: &[ResultChunk]) -> Result<wire::ResponseField, Error> {
    if chunks.is_empty() {
        return Ok(wire::ResponseField::Null);
    }
    let raw = |text: String| RawValue::from_string(text).map_err(Error::internal);
    Ok(wire::ResponseField::Results(JobResults {
        successful: raw(join_fragments(chunks.iter().map(|c| c.successful.as_str())))?,
        failed: raw(join_fragments(chunks.iter().map(|c| c.failed.as_str())))?,
    }))
}

#[derive(Clone)]
pub struct Jobs {
    store: Arc<dyn JobStore>,
    waker: Waker,
    /// How long an ended job is kept (the engine's, for the jobs it ends).
    retention: Duration,
    settings: Arc<Settings>,
    /// Each tenant's share of the database for listings.
    listings: crate::gate::TenantGate,
    /// Each tenant's open event streams.
    streams: TenantCount,
    /// Each tenant's failed-items downloads in progress.
    downloads: TenantCount,
}

impl Jobs {
    pub(crate) fn new(
        store: Arc<dyn JobStore>,
        waker: Waker,
        retention: Duration,
        settings: Arc<Settings>,
        listings: crate::gate::TenantGate,
    ) -> Jobs {
        Jobs {
            store,
            waker,
            retention,
            streams: TenantCount::new(
                settings.tenant_streams,
                "event streams open",
                "close one, or read the job's status",
            ),
            downloads: TenantCount::new(
                settings.tenant_downloads,
                "failed-items downloads in progress",
                "retry when one has finished",
            ),
            settings,
            listings,
        }
    }

    /// The tenant's job `key` to follow as a stream, and the stream's place
    /// among the tenant's open ones (held while it is open; 429 at the limit).
    pub async fn follow(&self, tenant: TenantId, key: &str) -> Result<(JobRecord, Place), Error> {
        let job = self.job(tenant, key).await?;
        let permit = self.streams.open(tenant)?;
        Ok((job, permit))
    }

    /// A full queue: 429 with the configured `Retry-After`.
    fn queue_error(&self, e: StoreError) -> Error {
        match e {
            StoreError::QueueFull { unprocessed, limit } => Error::Busy {
                message: format!(
                    "queue limit reached: {unprocessed} items are waiting (limit {limit}); retry later"
                ),
                retry_after: self.settings.queue_retry_after,
            },
            other => other.into(),
        }
    }

    /// A job created: the workers are woken and it is counted.
    fn created(&self, tenant: TenantId, batch_type: BatchType) {
        self.waker.job_created();
        engine::metrics::job_created(tenant, batch_type);
    }

    /// Stores a job of the batch's items durably (the answer comes after the
    /// commit) or refuses the whole request, creating nothing.
    pub async fn create(&self, tenant: TenantId, batch: Batch<'_>) -> Result<JobId, Error> {
        let started = Instant::now();
        let idempotency = batch
            .idempotency_key
            .map(|key| idempotency(key, batch.batch_type, batch.body))
            .transpose()?;
        check_item_count(batch.items.len(), self.settings.max_batch_items)?;
        let job = NewJob {
            tenant_id: tenant,
            batch_type: batch.batch_type,
            item_count: u32::try_from(batch.items.len()).unwrap_or(u32::MAX),
            segments: segment_items(batch.items.iter().copied()),
            idempotency,
            queue_limit: self.settings.queue_limit,
            now: OffsetDateTime::now_utc(),
        };
        let created = self
            .store
            .create_job(job)
            .await
            .map_err(|e| self.queue_error(e))?;
        if let JobCreation::Created(_) = created {
            self.created(tenant, batch.batch_type);
        }
        metrics::intake(batch.batch_type, started);
        Ok(created.job_id())
    }

    /// The tenant's job `key` (another tenant's is unknown).
    pub async fn job(&self, tenant: TenantId, key: &str) -> Result<JobRecord, Error> {
        let id = job_id(key)?;
        self.store
            .job(tenant, id)
            .await?
            .ok_or_else(|| Error::job_not_found(key))
    }

    /// The job's status with every result so far, read at one instant.
    pub async fn status(&self, tenant: TenantId, key: &str) -> Result<JobStatus, Error> {
        let id = job_id(key)?;
        let (job, chunks) = self
            .store
            .job_with_results(tenant, id)
            .await?
            .ok_or_else(|| Error::job_not_found(key))?;
        Ok(job.status(results(&chunks)?))
    }

    /// The job and both arrays of its result entries, from one read.
    pub async fn results(&self, tenant: TenantId, key: &str) -> Result<JobResultsView, Error> {
        let id = job_id(key)?;
        let (job, chunks) = self
            .store
            .job_with_results(tenant, id)
            .await?
            .ok_or_else(|| Error::job_not_found(key))?;
        let parse =
            |text: String| serde_json::from_str::<Vec<Value>>(&text).map_err(Error::internal);
        Ok(JobResultsView {
            job,
            successful: parse(join_fragments(chunks.iter().map(|c| c.successful.as_str())))?,
            failed: parse(join_fragments(chunks.iter().map(|c| c.failed.as_str())))?,
        })
    }

    /// Stops a queued or running job: once this answers, no further item of it
    /// takes effect. A stopped job answers the same again; a finished one is a 4009.
    pub async fn stop(&self, tenant: TenantId, key: &str) -> Result<JobStopped, Error> {
        let id = job_id(key)?;
        let now = OffsetDateTime::now_utc();
        let job = match self.store.stop_job(tenant, id, now, self.retention).await? {
            StopOutcome::Stopped(job) => {
                engine::metrics::job_finished(tenant, job.batch_type, JobState::Stopped);
                job
            }
            StopOutcome::AlreadyStopped(job) => job,
            StopOutcome::NotFound => return Err(Error::job_not_found(key)),
            StopOutcome::AlreadyFinished(state) => {
                return Err(Error::conflict(
                    Conflict::Finished,
                    format!("job {id} is {state} and cannot be stopped"),
                ));
            }
        };
        Ok(JobStopped {
            job_id: job.id,
            status: JobState::Stopped,
            message: "Job stopped successfully".into(),
        })
    }

    /// A new job of a finished job's failed items (their original texts, in
    /// order), once per job: asked again, the same job. Held to the queue limit.
    pub async fn retry(&self, tenant: TenantId, key: &str) -> Result<JobId, Error> {
        let id = job_id(key)?;
        let outcome = self
            .store
            .retry_failed(
                tenant,
                id,
                self.settings.queue_limit,
                OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| self.queue_error(e))?;
        match outcome {
            RetryOutcome::Created(new, batch_type) => {
                self.created(tenant, batch_type);
                Ok(new)
            }
            RetryOutcome::Existing(new) => Ok(new),
            RetryOutcome::NotFound => Err(Error::job_not_found(key)),
            RetryOutcome::NotFinished(state) => Err(Error::conflict(
                Conflict::NotFinished,
                format!(
                    "job {id} is {state}: its failed items can be retried once it has finished"
                ),
            )),
            RetryOutcome::NothingFailed => Err(Error::conflict(
                Conflict::NothingFailed,
                format!("job {id} has no failed items"),
            )),
            RetryOutcome::ItemsGone => Err(Error::conflict(
                Conflict::ItemsGone,
                format!("the failed items of job {id} are no longer kept"),
            )),
        }
    }

    /// A page of the tenant's jobs, newest first.
    pub async fn list(&self, tenant: TenantId, q: JobQuery) -> Result<Page<JobRecord>, Error> {
        let filter = JobFilter {
            state: q.state,
            batch_type: q.batch_type,
            before: q.after,
            limit: Page::<JobRecord>::fetch(q.limit),
        };
        let _share = self.listings.enter(tenant).await?;
        let rows = self.store.list_jobs(tenant, &filter).await?;
        Ok(Page::cut(rows, q.limit, |j| j.id))
    }

    /// `GET /batch`: the page as status entries without `response`.
    pub async fn listing(&self, tenant: TenantId, q: JobQuery) -> Result<JobList, Error> {
        let page = self.list(tenant, q).await?;
        Ok(JobList {
            jobs: page
                .items
                .into_iter()
                .map(|j| j.status(wire::ResponseField::Omitted))
                .collect(),
            next: page.next,
        })
    }

    /// The job's failed entries in index order, each with its item's original
    /// text, read range by range as the caller asks (a download holds one
    /// range's texts, however large the job); it holds one of the tenant's
    /// places for downloads until it is dropped (429 beyond them).
    pub async fn failed_items(&self, tenant: TenantId, key: &str) -> Result<FailedItems, Error> {
        let place = self.downloads.open(tenant)?;
        let job = self.job(tenant, key).await?;
        Ok(FailedItems::new(self.store.clone(), job, place))
    }

    /// Items the tenant's jobs processed in each of the 60 minutes up to `now`
    /// (oldest first), from the chunks' own counts and commit times.
    pub async fn per_minute(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<Vec<u64>, Error> {
        let minute = 60_000i64;
        let this_minute = store::to_millis(now) / minute * minute;
        let first = this_minute - 59 * minute;
        let rows = self
            .store
            .throughput(tenant, store::from_millis(first))
            .await?;
        let mut out = vec![0u64; 60];
        for (start, items) in rows {
            if let Ok(i) = usize::try_from((start - first) / minute)
                && let Some(slot) = out.get_mut(i)
            {
                *slot = slot.saturating_add(items);
            }
        }
        Ok(out)
    }

    /// Those of `jobs` that exist, each only under its own tenant, in one read
    /// (what a node's event streams follow).
    pub async fn rows(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
        self.store.jobs_by_id(jobs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_positive_integers() {
        assert_eq!(job_id("42").unwrap(), 42);
        for bad in ["abc", "0", "-1", "1.5", ""] {
            let e = job_id(bad).unwrap_err();
            assert_eq!(
                (e.code(), e.message()),
                (ErrorCode::NotFound, format!("job {bad} not found").as_str())
            );
        }
    }

    #[test]
    fn an_idempotency_key_is_visible_ascii_and_names_the_type_and_body() {
        let a = idempotency(b"k-1", BatchType::Customers, b"{}").unwrap();
        assert_eq!(a.key, "k-1");
        let other_body = idempotency(b"k-1", BatchType::Customers, b"[]").unwrap();
        let other_type = idempotency(b"k-1", BatchType::Events, b"{}").unwrap();
        assert_ne!(a.body_hash, other_body.body_hash);
        assert_ne!(a.body_hash, other_type.body_hash);
        let long = vec![b'a'; 256];
        for bad in [&b""[..], &long, "é".as_bytes(), b"a\nb"] {
            assert_eq!(
                idempotency(bad, BatchType::Customers, b"{}")
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidValue
            );
        }
    }

    #[test]
    fn a_batch_holds_one_to_max_objects() {
        assert_eq!(
            check_item_count(0, 10).unwrap_err().code(),
            ErrorCode::MalformedPayload
        );
        assert!(check_item_count(10, 10).is_ok());
        assert_eq!(
            check_item_count(11, 10).unwrap_err().code(),
            ErrorCode::LimitExceeded
        );
    }
}
