//! Route handlers: extract → call the store or engine → map to the wire types.

pub mod batch;
pub mod configurations;
pub mod customers;
pub mod health;
pub mod jobs;
pub mod listing;
pub mod progress;
pub mod transactions;
pub mod webhooks;

/// Applies one item as a chunk of one (the batches' rules); its failure is the call's error.
pub(crate) async fn apply_one(
    app: &crate::AppState,
    tenant: store::TenantId,
    items: domain::ChunkItems,
) -> Result<domain::Success, crate::ApiError> {
    let outcome = app
        .store
        .apply_single(tenant, items, time::OffsetDateTime::now_utc())
        .await?;
    Ok(outcome.result?)
}
