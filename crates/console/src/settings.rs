//! The program settings page: every setting and the event rewards
//! (`EVENT=POINTS` lines), validated as a whole; a refusal names the setting
//! and nothing is half-saved.

use crate::{Operator, State, failed, forged, html, pages};
use axum::Form;
use axum::extract::{Query, State as With};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(crate) struct SettingsQuery {
    saved: Option<String>,
}

pub(crate) async fn page(
    With(state): With<State>,
    op: Operator,
    Query(q): Query<SettingsQuery>,
) -> Response {
    match state.app.ledger().program_settings(op.tenant.id).await {
        Ok(s) => html(
            StatusCode::OK,
            pages::settings(
                &op.tenant.name,
                op.session.csrf(),
                &pages::SettingsForm::of(&s),
                None,
                q.saved.is_some(),
            ),
        ),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SettingsFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reward_wallet_factor: String,
    #[serde(default)]
    amount_reward_threshold: String,
    #[serde(default)]
    redemption_factor: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    points_name: String,
    #[serde(default)]
    return_window_days: String,
    #[serde(default)]
    points_expiry_days: String,
    #[serde(default)]
    hold_expiry_minutes: String,
    high_security: Option<String>,
    #[serde(default)]
    event_rewards: String,
}

impl SettingsFields {
    fn form(&self) -> pages::SettingsForm {
        pages::SettingsForm {
            reward_wallet_factor: self.reward_wallet_factor.clone(),
            amount_reward_threshold: self.amount_reward_threshold.clone(),
            redemption_factor: self.redemption_factor.clone(),
            currency: self.currency.clone(),
            points_name: self.points_name.clone(),
            return_window_days: self.return_window_days.clone(),
            points_expiry_days: self.points_expiry_days.clone(),
            hold_expiry_minutes: self.hold_expiry_minutes.clone(),
            high_security: self.high_security.is_some(),
            event_rewards: self.event_rewards.clone(),
        }
    }

    /// The settings the form describes (the application layer validates
    /// them); the message names the setting at fault.
    fn settings(&self) -> Result<domain::settings::ProgramSettings, String> {
        use rust_decimal::Decimal;
        use std::str::FromStr;
        let decimal = |name: &str, v: &str| {
            Decimal::from_str_exact(v.trim()).map_err(|_| format!("{name}: not a number"))
        };
        let whole = |name: &str, v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("{name}: not a whole number"))
        };
        let mut event_rewards = std::collections::BTreeMap::new();
        for line in self
            .event_rewards
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (name, points) = line
                .rsplit_once('=')
                .ok_or_else(|| format!("eventRewards: '{line}' is not EVENT=POINTS"))?;
            let points = i64::from_str(points.trim()).map_err(|_| {
                format!("eventRewards.{}: not a whole number of points", name.trim())
            })?;
            event_rewards.insert(name.trim().to_owned(), points);
        }
        let s = domain::settings::ProgramSettings {
            reward_wallet_factor: decimal("rewardWalletFactor", &self.reward_wallet_factor)?,
            amount_reward_threshold: decimal(
                "amountRewardThreshold",
                &self.amount_reward_threshold,
            )?,
            redemption_factor: decimal("redemptionFactor", &self.redemption_factor)?,
            currency: self.currency.trim().to_owned(),
            points_name: self.points_name.trim().to_owned(),
            return_window_days: whole("returnWindowDays", &self.return_window_days)?,
            points_expiry_days: match self.points_expiry_days.trim() {
                "" => None,
                d => Some(whole("pointsExpiryDays", d)?),
            },
            hold_expiry_minutes: whole("holdExpiryMinutes", &self.hold_expiry_minutes)?,
            high_security: self.high_security.is_some(),
            event_rewards,
        };
        Ok(s)
    }
}

pub(crate) async fn save(
    With(state): With<State>,
    op: Operator,
    Form(f): Form<SettingsFields>,
) -> Response {
    if !op.session.csrf_matches(&f.csrf) {
        return forged();
    }
    let refused = |message: &str| {
        html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::settings(
                &op.tenant.name,
                op.session.csrf(),
                &f.form(),
                Some(message),
                false,
            ),
        )
    };
    let settings = match f.settings() {
        Ok(s) => s,
        Err(message) => return refused(&message),
    };
    match state
        .app
        .tenants()
        .set_settings(&op.tenant.name, settings)
        .await
    {
        Ok(()) => Redirect::to("/console/settings?saved=1").into_response(),
        Err(app::Error::Refused { message, .. }) => refused(&message),
        Err(e) => failed(e),
    }
}
