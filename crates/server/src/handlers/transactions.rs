//! Single calls that move points (SPEC §4): cashback, redeem, holds, manual
//! adjustments, refunds, orders and their reversal, and the balance — each one
//! call of the application layer.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::body::JsonBytes;
use crate::error::ApiError;
use app::Call;
use axum::Json;
use axum::extract::{Path, State};
use domain::Success;
use wire::{BalanceView, HoldView, RewardPreview};

/// A `POST` single call: the body read by `$call`'s rules and applied.
macro_rules! post_call {
    ($(#[$doc:meta])* $name:ident => $call:expr) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            SecretCaller(tenant): SecretCaller,
            body: JsonBytes,
        ) -> Result<Json<Success>, ApiError> {
            Ok(Json(state.app.ledger().call(tenant.id, $call, body.value()?).await?))
        }
    };
}

post_call!(
    /// `POST /transactions/cashback` (SPEC §5.5).
    cashback => Call::Cashback
);
post_call!(
    /// `POST /transactions/redeem` (SPEC §5.6).
    redeem => Call::Redeem
);
post_call!(
    /// `POST /transactions/manual` (SPEC §5.4).
    manual => Call::Manual
);
post_call!(
    /// `POST /transactions/refund` (SPEC §5.9).
    refund => Call::Refund
);
post_call!(
    /// `POST /orders` (SPEC §5.7).
    order => Call::Order
);
post_call!(
    /// `POST /transactions/hold` (SPEC §5.6).
    hold => Call::Hold
);

/// `GET /orders/{orderId}/transactions` (SPEC §5.8).
pub async fn order_transactions(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(order_id): Path<String>,
) -> Result<Json<Success>, ApiError> {
    let answer = state.app.ledger().order_transactions(tenant.id, order_id);
    Ok(Json(answer.await?))
}

pub async fn get_hold(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(reference): Path<String>,
) -> Result<Json<HoldView>, ApiError> {
    Ok(Json(state.app.ledger().hold(tenant.id, &reference).await?))
}

/// Releases an active hold; a used, released or expired one answers 9006.
pub async fn release_hold(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(reference): Path<String>,
) -> Result<Json<Success>, ApiError> {
    let answer = state.app.ledger().release_hold(tenant.id, &reference);
    Ok(Json(answer.await?))
}

/// `GET /customers/{id}/balance`.
pub async fn balance(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
) -> Result<Json<BalanceView>, ApiError> {
    Ok(Json(
        state.app.ledger().balance(tenant.id, &customer_id).await?,
    ))
}

/// `POST /orders/reward-preview`: nothing is written.
pub async fn reward_preview(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<RewardPreview>, ApiError> {
    let answer = state.app.ledger().reward_preview(tenant.id, body.value()?);
    Ok(Json(answer.await?))
}

/// `DELETE /orders/{orderId}/transactions`: the order reversed as its full refund would.
pub async fn reverse_order(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(order_id): Path<String>,
) -> Result<Json<Success>, ApiError> {
    let answer = state.app.ledger().reverse_order(tenant.id, &order_id);
    Ok(Json(answer.await?))
}
