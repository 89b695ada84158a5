//! `GET /configurations/cashback` and `/configurations/redemption`: the tenant's program settings (SPEC §6) in Gameball's shapes.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use wire::{CashbackConfiguration, RedemptionConfiguration};

pub async fn cashback(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
) -> Result<Json<CashbackConfiguration>, ApiError> {
    Ok(Json(
        state.app.ledger().cashback_configuration(tenant.id).await?,
    ))
}

pub async fn redemption(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
) -> Result<Json<RedemptionConfiguration>, ApiError> {
    Ok(Json(
        state
            .app
            .ledger()
            .redemption_configuration(tenant.id)
            .await?,
    ))
}
