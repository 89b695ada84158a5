//! A job's end, decided once for its three roads — its last chunk, a stop, a
//! failure. Each backend writes it with one `UPDATE … RETURNING` and hands the
//! row it returned to the webhook outbox, never reading it back.

use crate::chunk::Advance;
use crate::types::*;
use std::time::Duration;
use time::OffsetDateTime;
use wire::JobState;

/// How a job ends: its final state, counts and times, and the fence it ends under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEnd {
    pub job_id: JobId,
    pub state: JobState,
    /// Why it could not run (a failure's `error`); `None` keeps the row's.
    pub error: Option<String>,
    /// The last chunk's cursor, finished and error counts; `None` keeps the row's.
    pub counts: Option<[u32; 3]>,
    /// Milliseconds.
    pub finished_at: i64,
    /// When it is purged (milliseconds).
    pub expires_at: i64,
    /// Ends it only while this lease token holds and it runs (a failure, which
    /// its worker decides); `None`: the caller has already decided (a stop,
    /// a chunk commit that checked the fence).
    pub token: Option<i64>,
}

impl JobEnd {
    /// A stop, decided on the job's row (`rules::stop_answer`).
    pub fn stopped(job: JobId, now: OffsetDateTime, retention: Duration) -> JobEnd {
        JobEnd {
            job_id: job,
            state: JobState::Stopped,
            error: None,
            counts: None,
            finished_at: to_millis(now),
            expires_at: to_millis(add(now, retention)),
            token: None,
        }
    }

    /// A job its worker cannot run on: `failed`, with `reason` as its `error`.
    pub fn failed(fence: Fence, reason: &str, now: OffsetDateTime, retention: Duration) -> JobEnd {
        JobEnd {
            job_id: fence.job_id,
            state: JobState::Failed,
            error: Some(reason.to_owned()),
            counts: None,
            finished_at: to_millis(now),
            expires_at: to_millis(add(now, retention)),
            token: Some(fence.token),
        }
    }

    /// The end a chunk writes when it was the job's last (`None` otherwise).
    pub fn of_last_chunk(a: &Advance) -> Option<JobEnd> {
        let f = a.finish?;
        Some(JobEnd {
            job_id: a.job_id,
            state: f.state,
            error: None,
            counts: Some([a.cursor, a.finished_count, a.error_count]),
            finished_at: f.finished_at,
            expires_at: f.expires_at,
            token: None,
        })
    }
}

/// Whether an ended job's item texts go with its end: they stay while some
/// item failed (for `POST /batch/{jobId}/retry`) until the job is purged.
pub fn drops_items(ended: &JobRecord) -> bool {
    ended.error_count == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_road_sets_what_it_decides_and_keeps_the_rest() {
        let now = from_millis(1_000);
        let day = Duration::from_secs(86_400);
        let stop = JobEnd::stopped(7, now, day);
        assert_eq!(
            (stop.state, stop.counts, stop.token),
            (JobState::Stopped, None, None)
        );
        assert_eq!((stop.finished_at, stop.expires_at), (1_000, 86_401_000));
        let fail = JobEnd::failed(
            Fence {
                job_id: 7,
                token: 3,
            },
            "gone",
            now,
            day,
        );
        assert_eq!(
            (fail.state, fail.error.as_deref(), fail.token),
            (JobState::Failed, Some("gone"), Some(3))
        );
    }
}
