//! Answers of the Gameball API v3.0 routes: the v4 results under the names v3
//! documented (`playerUniqueId`, `rewardedPoints`, `pointsBalance`, …).

use crate::{BalanceView, CashbackConfiguration, RedemptionConfiguration};

/// The base path of the v3.0 API.
pub const BASE_PATH: &str = "/api/v3.0/integrations";
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `POST /player`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::PlayerSaved)]
#[serde(rename_all = "camelCase")]
pub struct PlayerSaved {
    pub player_unique_id: String,
    pub gameball_id: i64,
}

/// `GET /player/{playerUniqueId}`: the profile, its attributes as `playerAttributes`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::PlayerView)]
#[serde(rename_all = "camelCase")]
pub struct PlayerView {
    pub player_unique_id: String,
    pub gameball_id: i64,
    #[schema(value_type = Object)]
    pub player_attributes: Map<String, Value>,
    /// The other profile fields (`email`, `mobile`, `guest`, …).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub profile: Map<String, Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `GET /player/{playerUniqueId}/balance`: v3's `pointsBalance` and
/// `pointsValue` (the available points) beside the v4 balance.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::PlayerBalance)]
#[serde(rename_all = "camelCase")]
pub struct PlayerBalance {
    pub player_unique_id: String,
    pub points_balance: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub points_value: Decimal,
    #[serde(flatten)]
    pub balance: BalanceView,
}

/// `POST /transaction/cashback`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::CashbackRewarded)]
#[serde(rename_all = "camelCase")]
pub struct CashbackRewarded {
    pub player_unique_id: String,
    pub transaction_id: String,
    pub gameball_transaction_id: i64,
    pub rewarded_points: i64,
    /// The money value of the points earned (at `redemptionFactor`).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub reward_amount: Decimal,
}

/// `POST /transaction/hold`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::PointsHeld)]
#[serde(rename_all = "camelCase")]
pub struct PointsHeld {
    pub player_unique_id: String,
    pub hold_reference: String,
    pub hold_equivalent_points: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub hold_amount: Decimal,
}

/// `POST /transaction/redeem`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::PointsRedeemed)]
#[serde(rename_all = "camelCase")]
pub struct PointsRedeemed {
    pub player_unique_id: String,
    pub transaction_id: String,
    pub gameball_transaction_id: i64,
    pub redeemed_points: i64,
    /// The money value of the points spent.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub redeemed_amount: Decimal,
}

/// `POST /transaction/manual`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::PointsAdjusted)]
#[serde(rename_all = "camelCase")]
pub struct PointsAdjusted {
    pub player_unique_id: String,
    pub transaction_id: String,
    pub gameball_transaction_id: i64,
    pub points: i64,
}

/// `POST /transaction/refund`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::Refunded)]
#[serde(rename_all = "camelCase")]
pub struct Refunded {
    pub player_unique_id: String,
    /// The refund's own id.
    pub transaction_id: String,
    pub gameball_transaction_id: i64,
    /// Points taken back (an earning refunded) or given back (a redemption refunded).
    pub refunded_points: i64,
    /// The money refunded.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub amount: Decimal,
}

/// `POST /order`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::OrderRewarded)]
#[serde(rename_all = "camelCase")]
pub struct OrderRewarded {
    pub player_unique_id: String,
    pub order_id: String,
    pub gameball_transaction_id: i64,
    pub rewarded_points: i64,
    pub redeemed_points: i64,
}

/// `GET /config`: the program's earning and redemption settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::Configuration)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    pub cashback: CashbackConfiguration,
    pub redemption: RedemptionConfiguration,
}

/// `GET /transaction/list`: a page of movements, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = v3::TransactionPage)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage {
    pub transactions: Vec<crate::TransactionView>,
    pub page: u32,
    pub limit: u32,
    pub has_more: bool,
}
