//! Intake and stop rules every backend applies the same way: only the reads and writes around them differ.

use crate::types::*;
use wire::JobState;

/// The job a tenant's idempotency key already names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedJob {
    pub job_id: JobId,
    pub body_hash: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// What an idempotency key that is already in use means for a new request:
/// `Some` answers it (the same job, or a conflict); `None` means the key's window
/// has passed and the old job lets go of it.
pub fn replay(
    existing: &KeyedJob,
    key: &Idempotency,
    now: i64,
) -> Option<Result<JobCreation, StoreError>> {
    let window_start = now - IDEMPOTENCY_WINDOW.as_millis() as i64;
    if existing.created_at < window_start {
        return None;
    }
    Some(
        if existing.body_hash.as_deref() == Some(key.body_hash.as_str()) {
            Ok(JobCreation::Existing(existing.job_id))
        } else {
            Err(StoreError::IdempotencyConflict)
        },
    )
}

/// Refuses a job that would take the tenant's unprocessed items past its limit.
pub fn admit(unprocessed: i64, job: &NewJob) -> Result<(), StoreError> {
    let unprocessed = unprocessed.max(0) as u64;
    if unprocessed + u64::from(job.item_count) > job.queue_limit {
        return Err(StoreError::QueueFull {
            unprocessed,
            limit: job.queue_limit,
        });
    }
    Ok(())
}

/// The answer to a stop when the job is already past stopping; `None` when it
/// is queued or running and must be stopped now.
pub fn stop_answer(job: &JobRecord) -> Option<StopOutcome> {
    match job.state {
        JobState::Completed | JobState::Failed => Some(StopOutcome::AlreadyFinished(job.state)),
        JobState::Stopped => Some(StopOutcome::AlreadyStopped(job.clone())),
        JobState::Queued | JobState::Running => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hash: &str) -> Idempotency {
        Idempotency {
            key: "k".into(),
            body_hash: hash.into(),
        }
    }

    #[test]
    fn a_key_replays_its_job_within_the_window_and_conflicts_on_another_body() {
        let hour = 3_600_000;
        let job = KeyedJob {
            job_id: 7,
            body_hash: Some("h".into()),
            created_at: 0,
        };
        assert!(matches!(
            replay(&job, &key("h"), hour),
            Some(Ok(JobCreation::Existing(7)))
        ));
        assert!(matches!(
            replay(&job, &key("x"), hour),
            Some(Err(StoreError::IdempotencyConflict))
        ));
        assert!(
            replay(&job, &key("h"), 25 * hour).is_none(),
            "after 24 h the key is free"
        );
    }
}
