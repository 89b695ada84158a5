//! The program settings form.

use super::layout;
use maud::{Markup, html};

/// The settings form's values as text (what was submitted, or what is stored).
pub struct SettingsForm {
    pub reward_wallet_factor: String,
    pub amount_reward_threshold: String,
    pub redemption_factor: String,
    pub currency: String,
    pub points_name: String,
    pub return_window_days: String,
    pub points_expiry_days: String,
    pub hold_expiry_minutes: String,
    pub high_security: bool,
    pub event_rewards: String,
}

impl SettingsForm {
    pub fn of(s: &domain::settings::ProgramSettings) -> SettingsForm {
        SettingsForm {
            reward_wallet_factor: s.reward_wallet_factor.to_string(),
            amount_reward_threshold: s.amount_reward_threshold.to_string(),
            redemption_factor: s.redemption_factor.to_string(),
            currency: s.currency.clone(),
            points_name: s.points_name.clone(),
            return_window_days: s.return_window_days.to_string(),
            points_expiry_days: s
                .points_expiry_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            hold_expiry_minutes: s.hold_expiry_minutes.to_string(),
            high_security: s.high_security,
            event_rewards: s
                .event_rewards
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

pub fn settings(
    tenant: &str,
    csrf: &str,
    f: &SettingsForm,
    error: Option<&str>,
    saved: bool,
) -> Markup {
    let field = |name: &str, label: &str, value: &str, help: &str| {
        html! {
            label for=(name) { (label) }
            input id=(name) type="text" name=(name) value=(value);
            small { (help) }
        }
    };
    let body = html! {
        h1 { "Program settings" }
        @if saved { p.notice role="status" { "Saved." } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form.settings method="post" action="/console/settings" {
            input type="hidden" name="csrf" value=(csrf);
            (field("rewardWalletFactor", "rewardWalletFactor", &f.reward_wallet_factor, "points earned per amountRewardThreshold of money"))
            (field("amountRewardThreshold", "amountRewardThreshold", &f.amount_reward_threshold, "money spent per rewardWalletFactor points"))
            (field("redemptionFactor", "redemptionFactor", &f.redemption_factor, "money value of one point"))
            (field("currency", "currency", &f.currency, "3-letter ISO code"))
            (field("pointsName", "pointsName", &f.points_name, "what points are called"))
            (field("returnWindowDays", "returnWindowDays", &f.return_window_days, "days earned points stay pending"))
            (field("pointsExpiryDays", "pointsExpiryDays", &f.points_expiry_days, "days points stay spendable; empty: never expire"))
            (field("holdExpiryMinutes", "holdExpiryMinutes", &f.hold_expiry_minutes, "minutes a hold reserves points"))
            label.check {
                input type="checkbox" name="highSecurity" value="on" checked[f.high_security];
                " highSecurity (every call needs the secret key)"
            }
            label for="eventRewards" { "Event rewards" }
            textarea #eventRewards name="eventRewards" rows="5" { (f.event_rewards) }
            small { "one EVENT=POINTS per line: points credited each time a customer sends the event" }
            button type="submit" { "Save" }
        }
    };
    layout("Settings", Some((tenant, csrf)), body)
}
