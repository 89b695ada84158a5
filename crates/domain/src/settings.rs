//! A tenant's program settings (SPEC §6): the points maths' factors, windows and limits, with their defaults and validation.

use crate::limits::MAX_POINTS;
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
        if !self.reward_wallet_factor.is_zero() {
            check_factor("rewardWalletFactor", self.reward_wallet_factor, MAX_FACTOR)?;
        }
        if self.amount_reward_threshold <= Decimal::ZERO {
            return Err("amountRewardThreshold: must be greater than 0".into());
        }
        check_factor(
            "amountRewardThreshold",
            self.amount_reward_threshold,
            crate::limits::MAX_MONEY_UNITS,
        )?;
        if self.redemption_factor <= Decimal::ZERO {
            return Err("redemptionFactor: must be greater than 0".into());
        }
        check_factor("redemptionFactor", self.redemption_factor, MAX_FACTOR)?;
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
            if *points <= 0 || *points > MAX_POINTS {
                return Err(format!(
                    "eventRewards.{name}: must be from 1 to {MAX_POINTS} points"
                ));
            }
        }
        Ok(())
    }

    /// Cashback points for `amount` (SPEC §5.5): floor(amount × factor ÷ threshold),
    /// in decimal; `None` beyond [`MAX_POINTS`].
    pub fn cashback_points(&self, amount: Decimal) -> Option<i64> {
        let points = amount
            .checked_mul(self.reward_wallet_factor)?
            .checked_div(self.amount_reward_threshold)?
            .floor();
        bounded_points(points)
    }

    /// Points a redemption of `amount` money spends (SPEC §5.6): ceil(amount ÷
    /// redemptionFactor); `None` beyond [`MAX_POINTS`].
    pub fn points_for_redemption(&self, amount: Decimal) -> Option<i64> {
        bounded_points(amount.checked_div(self.redemption_factor)?.ceil())
    }

    /// Points a manual adjustment of `amount` money is worth: the whole points it
    /// buys at `redemptionFactor`, rounded toward zero (never more than the money);
    /// `None` beyond [`MAX_POINTS`] either way.
    pub fn points_for_adjustment(&self, amount: Decimal) -> Option<i64> {
        bounded_points(amount.checked_div(self.redemption_factor)?.trunc())
    }

    /// Money value of `points`. Points stay within ±[`crate::limits::MAX_BALANCE`] and the factor
    /// within [`MAX_FACTOR`], so the product is far inside a decimal's range.
    pub fn value_of(&self, points: i64) -> Decimal {
        Decimal::from(points)
            .saturating_mul(self.redemption_factor)
            .normalize()
    }
}

/// `points` as an integer when it is within ±[`MAX_POINTS`].
fn bounded_points(points: Decimal) -> Option<i64> {
    i64::try_from(points)
        .ok()
        .filter(|p| p.unsigned_abs() <= MAX_POINTS.unsigned_abs())
}

/// The bound of the program's factors: 10^-6 ≤ factor ≤ 10^6 (thresholds up to
/// [`crate::limits::MAX_MONEY_UNITS`]), at most six decimal places.
pub const MAX_FACTOR: i64 = 1_000_000;

fn check_factor(name: &str, value: Decimal, max: i64) -> Result<(), String> {
    let min = Decimal::new(1, crate::limits::MAX_MONEY_DECIMALS);
    if value < min
        || value > Decimal::from(max)
        || value.normalize().scale() > crate::limits::MAX_MONEY_DECIMALS
    {
        return Err(format!(
            "{name}: must be from 0.000001 to {max}, with at most 6 decimal places"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_BALANCE;
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
        assert_eq!(s.cashback_points(d("99.99")), Some(99));
        s.reward_wallet_factor = d("3");
        s.amount_reward_threshold = d("10");
        // 0.1 + 0.2 style sums are exact in decimal: 33.3 × 3 ÷ 10 = 9.99 → 9.
        assert_eq!(s.cashback_points(d("33.3")), Some(9));
        assert_eq!(s.cashback_points(d("10")), Some(3));
        assert_eq!(s.cashback_points(d("0")), Some(0));
        // 0.1 per point: 1.01 money needs 10.1 → 11 points.
        assert_eq!(s.points_for_redemption(d("1.01")), Some(11));
        assert_eq!(s.points_for_redemption(d("1.00")), Some(10));
        assert_eq!(s.points_for_adjustment(d("1.09")), Some(10));
        assert_eq!(s.points_for_adjustment(d("-1.09")), Some(-10));
        assert_eq!(s.value_of(15), d("1.5"));
    }

    #[test]
    fn conversions_beyond_the_points_limit_are_refused_not_wrapped() {
        let mut s = ProgramSettings::default();
        // 10^12 money at 0.1 per point would be 10^13 points.
        assert_eq!(s.points_for_redemption(d("1000000000000")), None);
        assert_eq!(s.points_for_adjustment(d("-1000000000000")), None);
        assert_eq!(s.points_for_redemption(d("100000000000")), Some(MAX_POINTS));
        // Decimal::MAX itself cannot overflow the maths: the division is checked.
        s.redemption_factor = d("0.000001");
        assert_eq!(s.points_for_redemption(Decimal::MAX), None);
        s.reward_wallet_factor = d("1000000");
        assert_eq!(s.cashback_points(Decimal::MAX), None);
        assert_eq!(s.cashback_points(d("1000000")), Some(MAX_POINTS));
        assert_eq!(s.cashback_points(d("1000000.000001")), None);
        // The largest balance at the largest factor is still a plain decimal.
        assert_eq!(s.value_of(-MAX_BALANCE), d("-1000000000"));
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
        bad(|s| s.redemption_factor = d("1000001"), "redemptionFactor");
        bad(|s| s.redemption_factor = d("0.0000001"), "redemptionFactor");
        bad(
            |s| s.reward_wallet_factor = d("10000000"),
            "rewardWalletFactor",
        );
        bad(
            |s| s.amount_reward_threshold = d("1000000000001"),
            "amountRewardThreshold",
        );
        bad(
            |s| {
                s.event_rewards.insert("big".into(), MAX_POINTS + 1);
            },
            "eventRewards.big",
        );
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
