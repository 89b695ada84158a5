//! Job status, stop and list (SPEC §3.1–§3.3).

use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use domain::outcome::join_fragments;
use serde::Deserialize;
use serde_json::value::RawValue;
use store::{JobFilter, JobRecord, ResultChunk, RetryOutcome, StopOutcome};
use time::OffsetDateTime;
use wire::{
    BatchType, ErrorCode, JobCreated, JobList, JobResults, JobState, JobStatus, JobStopped,
    ResponseField,
};

pub(crate) fn job_id(key: &str) -> Result<i64, ApiError> {
    key.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::job_not_found(key))
}

pub(crate) fn status_of(job: JobRecord, response: ResponseField) -> JobStatus {
    store::webhooks::job_status(job, response)
}

fn results(chunks: &[ResultChunk]) -> Result<ResponseField, ApiError> {
    if chunks.is_empty() {
        return Ok(ResponseField::Null);
    }
    let raw = |text: String| RawValue::from_string(text).map_err(|e| ApiError::internal(&e));
    Ok(ResponseField::Results(JobResults {
        successful: raw(join_fragments(chunks.iter().map(|c| c.successful.as_str())))?,
        failed: raw(join_fragments(chunks.iter().map(|c| c.failed.as_str())))?,
    }))
}

pub async fn status(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    let id = job_id(&key)?;
    let (job, chunks) = app
        .store
        .job_with_results(tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::job_not_found(&key))?;
    Ok(Json(status_of(job, results(&chunks)?)))
}

pub async fn stop(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<JobStopped>, ApiError> {
    let id = job_id(&key)?;
    match app
        .store
        .stop_job(
            tenant.id,
            id,
            OffsetDateTime::now_utc(),
            app.settings.retention,
        )
        .await?
    {
        StopOutcome::Stopped(job) => {
            engine::metrics::job_finished(tenant.id, job.batch_type, JobState::Stopped);
            Ok(Json(JobStopped {
                job_id: job.id,
                status: JobState::Stopped,
                message: "Job stopped successfully".into(),
            }))
        }
        StopOutcome::NotFound => Err(ApiError::job_not_found(&key)),
        StopOutcome::AlreadyFinished(state) => Err(ApiError::new(
            ErrorCode::StateConflict,
            format!("job {id} is {state} and cannot be stopped"),
        )),
    }
}

/// `POST /batch/{jobId}/retry`: a new job of a finished job's failed items
/// (their original texts, in order), once per job.
pub async fn retry(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<JobCreated>, ApiError> {
    let id = job_id(&key)?;
    let conflict = |m: String| ApiError::new(ErrorCode::StateConflict, m);
    let outcome = app
        .store
        .retry_failed(
            tenant.id,
            id,
            app.settings.queue_limit,
            OffsetDateTime::now_utc(),
        )
        .await?;
    match outcome {
        RetryOutcome::Created(new) => {
            app.waker.job_created();
            let batch_type = app.store.job(tenant.id, new).await?.map(|j| j.batch_type);
            if let Some(t) = batch_type {
                engine::metrics::job_created(tenant.id, t);
            }
            Ok(Json(JobCreated { job_id: new }))
        }
        RetryOutcome::Existing(new) => Ok(Json(JobCreated { job_id: new })),
        RetryOutcome::NotFound => Err(ApiError::job_not_found(&key)),
        RetryOutcome::NotFinished(state) => Err(conflict(format!(
            "job {id} is {state}: its failed items can be retried once it has finished"
        ))),
        RetryOutcome::NothingFailed => Err(conflict(format!("job {id} has no failed items"))),
        RetryOutcome::ItemsGone => Err(conflict(format!(
            "the failed items of job {id} are no longer kept"
        ))),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    batch_type: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

pub const DEFAULT_LIST_LIMIT: u32 = 50;
pub const MAX_LIST_LIMIT: u32 = 200;

pub async fn list(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    let invalid = |m: String| ApiError::new(ErrorCode::InvalidValue, m);
    let state = q
        .status
        .filter(|s| !s.is_empty())
        .map(|s| {
            JobState::parse(&s).ok_or_else(|| invalid(format!("status: unknown job status '{s}'")))
        })
        .transpose()?;
    let batch_type = q
        .batch_type
        .filter(|s| !s.is_empty())
        .map(|s| {
            BatchType::parse(&s).ok_or_else(|| invalid(format!("type: unknown batch type '{s}'")))
        })
        .transpose()?;
    let (limit, before) = super::page(
        q.limit,
        ("after", q.after, "a job id"),
        DEFAULT_LIST_LIMIT,
        MAX_LIST_LIMIT,
    )?;
    let filter = JobFilter {
        state,
        batch_type,
        before,
        limit: limit + 1,
    };
    let mut jobs = app.store.list_jobs(tenant.id, &filter).await?;
    let next = if jobs.len() > limit as usize {
        jobs.truncate(limit as usize);
        jobs.last().map(|j| j.id)
    } else {
        None
    };
    Ok(Json(JobList {
        jobs: jobs
            .into_iter()
            .map(|j| status_of(j, ResponseField::Omitted))
            .collect(),
        next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_positive_integers() {
        assert_eq!(job_id("42").unwrap(), 42);
        for bad in ["abc", "0", "-1", "1.5", ""] {
            assert_eq!(job_id(bad).unwrap_err().code, ErrorCode::NotFound);
        }
    }
}
