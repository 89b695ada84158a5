//! `GET /configurations/cashback` and `/configurations/redemption`: the tenant's program settings (SPEC §6) in Gameball's shapes.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use domain::settings::ProgramSettings;
use wire::{CashbackConfiguration, CashbackRule, RedemptionConfiguration};

pub async fn cashback(
    State(app): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Json<CashbackConfiguration>, ApiError> {
    let s = app.store.program_settings(tenant.id).await?;
    Ok(Json(cashback_of(&s)))
}

pub async fn redemption(
    State(app): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Json<RedemptionConfiguration>, ApiError> {
    let s = app.store.program_settings(tenant.id).await?;
    Ok(Json(redemption_of(s)))
}

pub fn cashback_of(s: &ProgramSettings) -> CashbackConfiguration {
    CashbackConfiguration {
        default_cashback_rule: CashbackRule {
            amount_reward_threshold: s.amount_reward_threshold.normalize(),
            reward_wallet_factor: s.reward_wallet_factor.normalize(),
        },
        tier_cashback_rules: Vec::new(),
        return_window_days: s.return_window_days,
        points_expiry_days: s.points_expiry_days,
        event_rewards: s.event_rewards.clone(),
    }
}

pub fn redemption_of(s: ProgramSettings) -> RedemptionConfiguration {
    RedemptionConfiguration {
        redemption_factor: s.redemption_factor.normalize(),
        redemption_rules: Vec::new(),
        currency: s.currency,
        points_name: s.points_name,
        hold_expiry_minutes: s.hold_expiry_minutes,
    }
}
