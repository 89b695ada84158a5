//! A tenant's program settings (SPEC §6): the points maths' factors, windows and limits, with their defaults and validation.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest hold: 15 days.
pub const MAX_HOLD_MINUTES: u32 = 15 * 24 * 60;
/// Longest return window or expiry period accepted (ten years).
pub const MAX_DAYS: u32 = 3650;

/// One tenant's program. Stored as JSON; absent keys take their defaults, so
/// settings written by an older version still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ProgramSettings {
    /// Points earned per `amount_reward_threshold` of money spent.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub reward_wallet_factor: Decimal,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub amount_reward_threshold: Decimal,
    /// Money value of one point.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub redemption_factor: Decimal,
    pub currency: String,
    pub points_name: String,
    /// Days earned points stay pending before they can be spent.
    pub return_window_days: u32,
    /// Days points stay spendable once available; `None` = they never expire.
    pub points_expiry_days: Option<u32>,
    pub hold_expiry_minutes: u32,
    /// Every call needs the secret key, not only the ones that move points.
    pub high_security: bool,
    /// Event name → points credited each time a customer sends it.
    pub event_rewards: BTreeMap<String, i64>,
}

impl Default for ProgramSettings {
    fn default() -> Self {
        ProgramSettings {
            reward_wallet_factor: Decimal::ONE,
            amount_reward_threshold: Decimal::ONE,
            redemption_factor: Decimal::new(1, 1),
            currency: "USD".into(),
            points_name: "Points".into(),
            return_window_days: 0,
            points_expiry_days: None,
            hold_expiry_minutes: 10,
            high_security: true,
            event_rewards: BTreeMap::new(),
        }
    }
}

impl ProgramSettings {
    /// Every rule a stored program must satisfy; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.reward_wallet_factor.is_sign_negative() {
            return Err("rewardWalletFactor: must not be negative".into());
        }
        if self.amount_reward_threshold <= Decimal::ZERO {
            return Err("amountRewardThreshold: must be greater than 0".into());
        }
        if self.redemption_factor <= Decimal::ZERO {
            return Err("redemptionFactor: must be greater than 0".into());
        }
        let code =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| c.is_ascii_uppercase());
        if !code(&self.currency) {
            return Err("currency: must be a 3-letter ISO code such as USD".into());
        }
        if self.points_name.trim().is_empty() || self.points_name.chars().count() > 50 {
            return Err("pointsName: must be 1–50 characters".into());
        }
        if self.return_window_days > MAX_DAYS {
            return Err(format!("returnWindowDays: at most {MAX_DAYS}"));
        }
        if let Some(d) = self.points_expiry_days
            && !(1..=MAX_DAYS).contains(&d)
        {
            return Err(format!("pointsExpiryDays: must be 1–{MAX_DAYS}"));
        }
        if !(1..=MAX_HOLD_MINUTES).contains(&self.hold_expiry_minutes) {
            return Err(format!("holdExpiryMinutes: must be 1–{MAX_HOLD_MINUTES}"));
        }
        for (name, points) in &self.event_rewards {
            if name.trim().is_empty() || name.chars().count() > crate::events::MAX_NAME_CHARS {
                return Err(format!(
                    "eventRewards: event names must be 1–{} characters",
                    crate::events::MAX_NAME_CHARS
                ));
            }
            if *points <= 0 {
                return Err(format!(
                    "eventRewards.{name}: must be a positive number of points"
                ));
            }
        }
        Ok(())
    }

    /// Cashback points for `amount` (SPEC §5.5): floor(amount × factor ÷ threshold), in decimal.
    pub fn cashback_points(&self, amount: Decimal) -> i64 {
        let points = (amount * self.reward_wallet_factor / self.amount_reward_threshold).floor();
        i64::try_from(points).unwrap_or(i64::MAX)
    }

    /// Points a redemption of `amount` money spends (SPEC §5.6): ceil(amount ÷ redemptionFactor).
    pub fn points_for_redemption(&self, amount: Decimal) -> i64 {
        let points = (amount / self.redemption_factor).ceil();
        i64::try_from(points).unwrap_or(i64::MAX)
    }

    /// Points a manual adjustment of `amount` money is worth: the whole points it
    /// buys at `redemptionFactor`, rounded toward zero (never more than the money).
    pub fn points_for_adjustment(&self, amount: Decimal) -> i64 {
        let points = (amount / self.redemption_factor).trunc();
        i64::try_from(points).unwrap_or(if amount.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    /// Money value of `points`.
    pub fn value_of(&self, points: i64) -> Decimal {
        (Decimal::from(points) * self.redemption_factor).normalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn defaults_are_those_of_spec_section_6() {
        let s = ProgramSettings::default();
        assert_eq!(s.reward_wallet_factor, Decimal::ONE);
        assert_eq!(s.amount_reward_threshold, Decimal::ONE);
        assert_eq!(s.redemption_factor, d("0.1"));
        assert_eq!(
            (s.currency.as_str(), s.points_name.as_str()),
            ("USD", "Points")
        );
        assert_eq!(s.return_window_days, 0);
        assert_eq!(s.points_expiry_days, None);
        assert_eq!(s.hold_expiry_minutes, 10);
        assert!(s.high_security);
        assert!(s.event_rewards.is_empty());
        s.validate().unwrap();
        let from_empty: ProgramSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(from_empty, s, "absent keys take their defaults");
    }

    #[test]
    fn cashback_floors_and_redemption_ceils_in_decimal() {
        let mut s = ProgramSettings::default();
        assert_eq!(s.cashback_points(d("99.99")), 99);
        s.reward_wallet_factor = d("3");
        s.amount_reward_threshold = d("10");
        // 0.1 + 0.2 style sums are exact in decimal: 33.3 × 3 ÷ 10 = 9.99 → 9.
        assert_eq!(s.cashback_points(d("33.3")), 9);
        assert_eq!(s.cashback_points(d("10")), 3);
        assert_eq!(s.cashback_points(d("0")), 0);
        // 0.1 per point: 1.01 money needs 10.1 → 11 points.
        assert_eq!(s.points_for_redemption(d("1.01")), 11);
        assert_eq!(s.points_for_redemption(d("1.00")), 10);
        assert_eq!(s.points_for_adjustment(d("1.09")), 10);
        assert_eq!(s.points_for_adjustment(d("-1.09")), -10);
        assert_eq!(s.value_of(15), d("1.5"));
    }

    #[test]
    fn validation_names_the_setting() {
        let bad = |f: fn(&mut ProgramSettings), field: &str| {
            let mut s = ProgramSettings::default();
            f(&mut s);
            let e = s.validate().unwrap_err();
            assert!(e.starts_with(field), "{e}");
        };
        bad(
            |s| s.amount_reward_threshold = Decimal::ZERO,
            "amountRewardThreshold",
        );
        bad(|s| s.redemption_factor = d("-1"), "redemptionFactor");
        bad(|s| s.reward_wallet_factor = d("-1"), "rewardWalletFactor");
        bad(|s| s.currency = "usd".into(), "currency");
        bad(|s| s.points_name = " ".into(), "pointsName");
        bad(|s| s.hold_expiry_minutes = 0, "holdExpiryMinutes");
        bad(
            |s| s.hold_expiry_minutes = MAX_HOLD_MINUTES + 1,
            "holdExpiryMinutes",
        );
        bad(|s| s.points_expiry_days = Some(0), "pointsExpiryDays");
        bad(|s| s.return_window_days = MAX_DAYS + 1, "returnWindowDays");
        bad(
            |s| {
                s.event_rewards.insert("login".into(), 0);
            },
            "eventRewards.login",
        );
        assert!(serde_json::from_str::<ProgramSettings>(r#"{"nope": 1}"#).is_err());
        let s: ProgramSettings = serde_json::from_str(r#"{"redemptionFactor": 0.25}"#).unwrap();
        assert_eq!(s.redemption_factor, d("0.25"));
        assert!(
            serde_json::to_string(&s)
                .unwrap()
                .contains(r#""redemptionFactor":0.25"#)
        );
    }
}
