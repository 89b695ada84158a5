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

/// A listing's `limit` (1 to `max`, `default` when absent) and its keyset cursor
/// (an id, named `cursor` and described as `what` in the refusal).
pub(crate) fn page(
    limit: Option<String>,
    cursor: (&str, Option<String>, &str),
    default: u32,
    max: u32,
) -> Result<(u32, Option<i64>), crate::ApiError> {
    let invalid = |m: String| crate::ApiError::new(wire::ErrorCode::InvalidValue, m);
    let limit = match limit.filter(|s| !s.is_empty()) {
        None => default,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(format!("limit: must be a whole number from 1 to {max}")))?,
    };
    let (name, value, what) = cursor;
    let at = value
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| invalid(format!("{name}: must be {what}")))
        })
        .transpose()?;
    Ok((limit, at))
}
