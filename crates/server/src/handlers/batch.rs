//! `POST /batch/{type}`: the items split out of `{"body": [...]}` unparsed,
//! handed to the application layer, which refuses the request whole or stores
//! the job durably and answers its id.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::body::JsonBytes;
use crate::error::ApiError;
use app::Batch;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use wire::{BatchType, ErrorCode, JobCreated};

pub async fn create(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Json<JobCreated>, ApiError> {
    let batch_type = BatchType::parse(&kind).ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("unknown batch type '{kind}'"))
    })?;
    accept(state, tenant.id, batch_type, &headers, body).await
}

pub async fn create_order_transactions(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Json<JobCreated>, ApiError> {
    accept(
        state,
        tenant.id,
        BatchType::OrderTransactions,
        &headers,
        body,
    )
    .await
}

/// The request's `Idempotency-Key`, as sent.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Option<&[u8]> {
    headers.get("idempotency-key").map(|v| v.as_bytes())
}

async fn accept(
    state: AppState,
    tenant: store::TenantId,
    batch_type: BatchType,
    headers: &HeaderMap,
    body: JsonBytes,
) -> Result<Json<JobCreated>, ApiError> {
    let items = body.batch_items()?;
    let batch = Batch {
        batch_type,
        items: items.iter().map(|i| i.get()).collect(),
        idempotency_key: idempotency_key(headers),
        body: &body.0,
    };
    let job_id = state.app.jobs().create(tenant, batch).await?;
    Ok(Json(JobCreated { job_id }))
}
