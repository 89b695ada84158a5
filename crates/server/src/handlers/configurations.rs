//! `GET /configurations/cashback` and `/configurations/redemption`: the tenant's program settings (SPEC §6) in Gameball's shapes.

use super::decimal_number as number;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub async fn cashback(
    State(app): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Json<Value>, ApiError> {
    let s = app.store.program_settings(tenant.id).await?;
    Ok(Json(json!({
        "defaultCashbackRule": {
            "amountRewardThreshold": number(s.amount_reward_threshold),
            "rewardWalletFactor": number(s.reward_wallet_factor),
        },
        "tierCashbackRules": [],
        "returnWindowDays": s.return_window_days,
        "pointsExpiryDays": s.points_expiry_days,
        "eventRewards": s.event_rewards,
    })))
}

pub async fn redemption(
    State(app): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Json<Value>, ApiError> {
    let s = app.store.program_settings(tenant.id).await?;
    Ok(Json(json!({
        "redemptionFactor": number(s.redemption_factor),
        "redemptionRules": [],
        "currency": s.currency,
        "pointsName": s.points_name,
        "holdExpiryMinutes": s.hold_expiry_minutes,
    })))
}
