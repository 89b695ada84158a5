//! Fixtures every suite needs: a tenant, and a job of raw items.

use store::{JobId, NewJob, NewTenant, Store, TenantId, segment_items};
use time::OffsetDateTime;
use wire::BatchType;

/// Creates tenant `name` (apikey `key-<name>`, a placeholder secret hash).
pub async fn tenant(store: &dyn Store, name: &str) -> TenantId {
    store
        .create_tenant(
            NewTenant {
                name: name.into(),
                apikey: format!("key-{name}"),
                secret_hash: format!("hash-{name}"),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("a new tenant")
        .id
}

/// Stores a job of `batch_type` over the raw item texts, with no queue limit.
pub async fn job(
    store: &dyn Store,
    tenant_id: TenantId,
    batch_type: BatchType,
    items: &[String],
) -> JobId {
    store
        .create_job(NewJob {
            tenant_id,
            batch_type,
            item_count: items.len() as u32,
            segments: segment_items(items.iter().map(String::as_str)),
            idempotency: None,
            queue_limit: u64::MAX,
            now: OffsetDateTime::now_utc(),
        })
        .await
        .expect("a stored job")
        .job_id()
}
