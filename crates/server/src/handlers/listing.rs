//! `GET /transactions`, its count, and a customer's history: the query string
//! handed to the application layer.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use app::PageQuery;
use app::listings::TransactionQuery;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use wire::{TransactionCount, TransactionList};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransactionParams {
    customer_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    direction: Option<String>,
    from: Option<String>,
    to: Option<String>,
    transaction_id: Option<String>,
    start_after: Option<String>,
    limit: Option<String>,
}

impl From<TransactionParams> for TransactionQuery {
    fn from(p: TransactionParams) -> TransactionQuery {
        TransactionQuery {
            customer_id: p.customer_id,
            kind: p.kind,
            direction: p.direction,
            from: p.from,
            to: p.to,
            transaction_id: p.transaction_id,
            start_after: p.start_after,
            limit: p.limit,
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Query(q): Query<TransactionParams>,
) -> Result<Json<TransactionList>, ApiError> {
    Ok(Json(
        state.app.ledger().transactions(tenant.id, q.into()).await?,
    ))
}

pub async fn count(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Query(q): Query<TransactionParams>,
) -> Result<Json<TransactionCount>, ApiError> {
    let answer = state.app.ledger().count_transactions(tenant.id, q.into());
    Ok(Json(answer.await?))
}

/// The query of `GET /customers/{customerId}/transactions`.
#[derive(Deserialize, Default)]
pub struct HistoryParams {
    limit: Option<String>,
    before: Option<String>,
}

/// `GET /customers/{customerId}/transactions`: one customer's movements,
/// newest first, paged by `before` (the `next` of the previous page).
pub async fn customer_history(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
    Query(q): Query<HistoryParams>,
) -> Result<Json<TransactionList>, ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.before,
    };
    let answer = state.app.customers().history(tenant.id, &customer_id, page);
    Ok(Json(answer.await?))
}
