//! Job status, stop, retry and list (SPEC §3.1–§3.3).

use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use app::{JobQuery, PageQuery};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use wire::{JobCreated, JobList, JobStatus, JobStopped};

pub async fn status(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    Ok(Json(state.app.jobs().status(tenant.id, &key).await?))
}

pub async fn stop(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<JobStopped>, ApiError> {
    Ok(Json(state.app.jobs().stop(tenant.id, &key).await?))
}

/// `POST /batch/{jobId}/retry`: a new job of a finished job's failed items
/// (their original texts, in order), once per job.
pub async fn retry(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<JobCreated>, ApiError> {
    let job_id = state.app.jobs().retry(tenant.id, &key).await?;
    Ok(Json(JobCreated { job_id }))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    batch_type: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.after,
    };
    let query = JobQuery::parse(q.status.as_deref(), q.batch_type.as_deref(), page)?;
    Ok(Json(state.app.jobs().listing(tenant.id, query).await?))
}
