//! `POST /batch/{type}`: refuse a bad request whole, or store the job with all its items durably and answer its id.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::body::JsonBytes;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use store::{Idempotency, JobCreation, NewJob, segment_items};
use time::OffsetDateTime;
use wire::{BatchType, ErrorCode, JobCreated};

pub async fn create(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Json<JobCreated>, ApiError> {
    let batch_type = BatchType::parse(&kind).ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("unknown batch type '{kind}'"))
    })?;
    accept(app, tenant.id, batch_type, &headers, body).await
}

pub async fn create_order_transactions(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Json<JobCreated>, ApiError> {
    accept(app, tenant.id, BatchType::OrderTransactions, &headers, body).await
}

async fn accept(
    app: AppState,
    tenant_id: store::TenantId,
    batch_type: BatchType,
    headers: &HeaderMap,
    body: JsonBytes,
) -> Result<Json<JobCreated>, ApiError> {
    let started = std::time::Instant::now();
    let idempotency = idempotency(headers, batch_type, &body.0)?;
    let items = body.batch_items(app.settings.max_batch_items)?;
    let texts: Vec<&str> = items.iter().map(|i| i.get()).collect();
    let job_id = store_job(&app, tenant_id, batch_type, idempotency, &texts, started).await?;
    Ok(Json(JobCreated { job_id }))
}

/// The request's `Idempotency-Key`, fingerprinted with the batch type and body.
pub(crate) fn idempotency(
    headers: &HeaderMap,
    batch_type: BatchType,
    body: &[u8],
) -> Result<Option<Idempotency>, ApiError> {
    Ok(idempotency_key(headers)?.map(|key| Idempotency {
        key,
        body_hash: fingerprint(batch_type, body),
    }))
}

/// Stores a job of `items` (raw JSON texts) durably and answers its id.
pub(crate) async fn store_job(
    app: &AppState,
    tenant_id: store::TenantId,
    batch_type: BatchType,
    idempotency: Option<Idempotency>,
    items: &[&str],
    started: std::time::Instant,
) -> Result<i64, ApiError> {
    let job = NewJob {
        tenant_id,
        batch_type,
        item_count: items.len() as u32,
        segments: segment_items(items.iter().copied()),
        idempotency,
        queue_limit: app.settings.queue_limit,
        now: OffsetDateTime::now_utc(),
    };
    let created = app.store.create_job(job).await.map_err(|e| {
        let full = matches!(e, store::StoreError::QueueFull { .. });
        let mut error = ApiError::from(e);
        if full {
            error.retry_after_secs = Some(app.settings.queue_retry_after.as_secs().max(1));
        }
        error
    })?;
    if let JobCreation::Created(_) = created {
        app.waker.job_created();
        engine::metrics::job_created(tenant_id, batch_type);
    }
    crate::metrics::intake(batch_type, started);
    Ok(created.job_id())
}

/// What an idempotency key names: the batch type and the exact body. The same
/// key with another type or body is a conflict (4009).
fn fingerprint(batch_type: BatchType, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(batch_type.as_str().as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidValue,
                "Idempotency-Key: must be 1 to 255 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}
