//! What a succeeded item reports: the success entries of every batch type and single call, and the balance and order-transaction shapes inside them.

use rust_decimal::Decimal;
use serde::Serialize;
use std::borrow::Cow;
use utoipa::ToSchema;

/// A balance as the API shows it (SPEC §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BalanceView {
    pub total_points_balance: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub total_points_value: Decimal,
    pub available_points_balance: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub available_points_value: Decimal,
    pub pending_points: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub pending_points_value: Decimal,
    pub currency: String,
    pub points_name: String,
    pub next_expiring_points_amount: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64)]
    pub next_expiring_points_value: Decimal,
    pub next_expiring_points_date: Option<String>,
    pub total_earned_points: i64,
}

/// One line of `GET /orders/{orderId}/transactions` and of an `orders/transactions` entry (SPEC §5.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderTransaction {
    pub transaction_date: String,
    pub gameball_transaction_id: i64,
    pub transaction_type: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision_option")]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Decimal>,
    pub transaction_id: Option<String>,
    pub equivalent_points: i64,
}

/// What a succeeded item reports, per batch type (the fields of its entry).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum Success {
    #[schema(title = "CustomerSaved")]
    #[serde(rename_all = "camelCase")]
    Customer {
        customer_id: String,
        gameball_id: i64,
        #[schema(value_type = String)]
        message: &'static str,
    },
    #[schema(title = "EventsRecorded")]
    #[serde(rename_all = "camelCase")]
    Events {
        customer_id: String,
        events: Vec<String>,
        rewarded_points: i64,
    },
    #[schema(title = "CustomerBalance")]
    #[serde(rename_all = "camelCase")]
    Balance {
        customer_id: String,
        #[serde(flatten)]
        balance: Box<BalanceView>,
    },
    #[schema(title = "PointsAdjusted")]
    #[serde(rename_all = "camelCase")]
    Adjusted {
        customer_id: String,
        transaction_id: String,
        gameball_transaction_id: i64,
        points: i64,
    },
    #[schema(title = "CashbackRewarded")]
    #[serde(rename_all = "camelCase")]
    Cashback {
        customer_id: String,
        transaction_id: String,
        gameball_transaction_id: i64,
        reward_equivalent_points: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        #[schema(value_type = f64)]
        reward_amount: Decimal,
    },
    #[schema(title = "PointsRedeemed")]
    #[serde(rename_all = "camelCase")]
    Redeemed {
        customer_id: String,
        transaction_id: String,
        gameball_transaction_id: i64,
        redeem_equivalent_points: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        #[schema(value_type = f64)]
        redeem_amount: Decimal,
    },
    #[schema(title = "PointsHeld")]
    #[serde(rename_all = "camelCase")]
    Held {
        customer_id: String,
        hold_reference: String,
        hold_equivalent_points: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        #[schema(value_type = f64)]
        hold_amount: Decimal,
    },
    #[schema(title = "HoldReleased")]
    Released {
        success: bool,
        #[schema(value_type = String)]
        message: &'static str,
    },
    #[schema(title = "OrderRewarded")]
    #[serde(rename_all = "camelCase")]
    Order {
        customer_id: String,
        order_id: String,
        gameball_transaction_id: i64,
        rewarded_points: i64,
        redeemed_points: i64,
    },
    #[schema(title = "Refunded")]
    #[serde(rename_all = "camelCase")]
    Refunded {
        customer_id: String,
        refund_transaction_id: String,
        gameball_transaction_id: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        #[schema(value_type = f64)]
        refund_amount: Decimal,
        refund_equivalent_points: i64,
    },
    #[schema(title = "OrderTransactionList")]
    #[serde(rename_all = "camelCase")]
    OrderTransactions {
        order_id: String,
        transactions: Vec<OrderTransaction>,
        count: usize,
    },
}

/// A `response.successful` entry: the item's `index` in the job's `body` and
/// its type's success fields (the shape of the single call's answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct SuccessEntry<'a> {
    pub index: u32,
    #[serde(flatten)]
    #[schema(value_type = Success)]
    pub success: &'a Success,
}

/// A `response.failed` entry: the item's `index`, the customer and the natural
/// key it named (values over 200 characters cut to 100 and `…`), and why it failed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureEntry<'a> {
    pub index: u32,
    /// `null` when the item named none that could be read.
    #[schema(value_type = Option<String>)]
    pub customer_id: Option<Cow<'a, str>>,
    /// Items keyed by a transaction (`cashback`, `redeem`, `balance-adjustment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub transaction_id: Option<Cow<'a, str>>,
    /// `orders` items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub order_id: Option<Cow<'a, str>>,
    /// A refund's own id. Refunds are single calls, whose failures answer the
    /// error envelope: no job's results hold one, so the document leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub refund_transaction_id: Option<Cow<'a, str>>,
    #[schema(value_type = crate::ErrorCode)]
    pub code: u32,
    /// The sentence naming the field, as the single call would answer it.
    #[schema(value_type = String)]
    pub error: &'a str,
    /// The same sentence.
    #[schema(value_type = String)]
    pub message: &'a str,
}
