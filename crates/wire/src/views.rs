//! The answers of the read calls: a customer's profile, a hold, the program's settings, the probes.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `GET /customers/{customerId}`: the ids, every profile field the customer
/// was given (as given), and when it was created and last changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub customer_id: String,
    pub gameball_id: i64,
    /// The profile's fields (`email`, `mobile`, `customerAttributes`, …).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub profile: Map<String, Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The last profile change (points moving leave it).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerDeleted {
    pub customer_id: String,
    pub message: String,
}

/// `GET /transactions/hold/{holdReference}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldView {
    pub customer_id: String,
    pub hold_reference: String,
    /// The money held, when the hold was made by `amountToHold`.
    #[serde(with = "rust_decimal::serde::arbitrary_precision_option")]
    #[schema(value_type = Option<f64>)]
    pub hold_amount: Option<Decimal>,
    pub hold_equivalent_points: i64,
    /// `active`, `used`, `released` or `expired`.
    #[schema(value_type = String, pattern = "^(active|used|released|expired)$")]
    pub state: &'static str,
    #[schema(format = DateTime)]
    pub date_to_expire: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CashbackRule {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub amount_reward_threshold: Decimal,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub reward_wallet_factor: Decimal,
}

/// `GET /configurations/cashback`: how money spent earns points.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CashbackConfiguration {
    pub default_cashback_rule: CashbackRule,
    /// Always empty: loyalbatch has no tiers.
    #[schema(value_type = Vec<Object>)]
    pub tier_cashback_rules: Vec<Value>,
    pub return_window_days: u32,
    /// `null`: points never expire.
    pub points_expiry_days: Option<u32>,
    /// Event name → points credited each time a customer sends it.
    pub event_rewards: BTreeMap<String, i64>,
}

/// `GET /configurations/redemption`: what points are worth and how long holds last.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedemptionConfiguration {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub redemption_factor: Decimal,
    /// Always empty: loyalbatch has no redemption rules.
    #[schema(value_type = Vec<Object>)]
    pub redemption_rules: Vec<Value>,
    pub currency: String,
    pub points_name: String,
    pub hold_expiry_minutes: u32,
}

/// `GET /health` and `GET /ready`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Probe {
    /// `ok` (health), `ready` or `unavailable` (readiness).
    #[schema(value_type = String, pattern = "^(ok|ready|unavailable)$")]
    pub status: &'static str,
    /// Why the node is not ready, when it knows: `the database's disk is full`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// One movement of points as `GET /transactions` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView {
    pub gameball_transaction_id: i64,
    /// The merchant's id of the operation (a refund's own id, an order's id); `null` for holds.
    pub transaction_id: Option<String>,
    /// `PaymentReward`, `Redemption`, `Refund`, `AchievementReward`,
    /// `ManualAccumulation`, `ManualDeduction`, `Hold` or `HoldRelease`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `+` points added, `-` points taken.
    #[schema(value_type = String, pattern = "^[+-]$")]
    pub direction: &'static str,
    pub customer_id: String,
    pub points: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision_option")]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Decimal>,
    #[schema(format = DateTime)]
    pub transaction_time: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub order_id: Option<String>,
    pub hold_reference: Option<String>,
    /// The transaction a refund reverses.
    pub reverse_transaction_id: Option<String>,
}

/// `GET /transactions`: a page of movements by ascending `gameballTransactionId`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionList {
    pub transactions: Vec<TransactionView>,
    pub has_more: bool,
    /// The `startAfter` of the next page; `null` on the last.
    pub next: Option<i64>,
}

/// `GET /transactions/count`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct TransactionCount {
    pub count: u64,
}

/// A change done (`POST /customers/{customerId}/tags`, …).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Done {
    pub success: bool,
    pub message: String,
}

/// `POST /orders/reward-preview`: what an order would earn; nothing is written.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RewardPreview {
    pub customer_id: Option<String>,
    /// Whether `customerId` names an existing customer (an order creates one otherwise).
    pub customer_found: bool,
    pub total_points: i64,
    pub cashback: CashbackPreview,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CashbackPreview {
    /// `floor(totalPaid × rewardWalletFactor ÷ amountRewardThreshold)`.
    pub total_points: i64,
    /// Days the points would stay pending before they can be spent.
    pub return_window_days: u32,
}
