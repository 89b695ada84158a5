//! Route handlers: extract → call the store or engine → map to the wire types.

pub mod batch;
pub mod configurations;
pub mod customers;
pub mod health;
pub mod jobs;
pub mod transactions;

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

/// A decimal as an exact JSON number (serde_json's arbitrary precision).
pub(crate) fn decimal_number(d: rust_decimal::Decimal) -> serde_json::Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(serde_json::Value::Null)
}
