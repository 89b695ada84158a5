//! What a succeeded item reports: the success entries of every batch type and single call, and the balance and order-transaction shapes inside them.

use rust_decimal::Decimal;
use serde::Serialize;

/// A balance as the API shows it (SPEC §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceView {
    pub total_points_balance: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub total_points_value: Decimal,
    pub available_points_balance: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub available_points_value: Decimal,
    pub pending_points: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub pending_points_value: Decimal,
    pub currency: String,
    pub points_name: String,
    pub next_expiring_points_amount: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub next_expiring_points_value: Decimal,
    pub next_expiring_points_date: Option<String>,
    pub total_earned_points: i64,
}

/// One line of `GET /orders/{orderId}/transactions` and of an `orders/transactions` entry (SPEC §5.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderTransaction {
    pub transaction_date: String,
    pub gameball_transaction_id: i64,
    pub transaction_type: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision_option")]
    pub amount: Option<Decimal>,
    pub transaction_id: Option<String>,
    pub equivalent_points: i64,
}

/// What a succeeded item reports, per batch type (the fields of its entry).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Success {
    #[serde(rename_all = "camelCase")]
    Customer {
        customer_id: String,
        gameball_id: i64,
        message: &'static str,
    },
    #[serde(rename_all = "camelCase")]
    Events {
        customer_id: String,
        events: Vec<String>,
        rewarded_points: i64,
    },
    #[serde(rename_all = "camelCase")]
    Balance {
        customer_id: String,
        #[serde(flatten)]
        balance: Box<BalanceView>,
    },
    #[serde(rename_all = "camelCase")]
    Adjusted {
        customer_id: String,
        transaction_id: String,
        gameball_transaction_id: i64,
        points: i64,
    },
    #[serde(rename_all = "camelCase")]
    Cashback {
        customer_id: String,
        transaction_id: String,
        gameball_transaction_id: i64,
        reward_equivalent_points: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        reward_amount: Decimal,
    },
    #[serde(rename_all = "camelCase")]
    Redeemed {
        customer_id: String,
        transaction_id: String,
        gameball_transaction_id: i64,
        redeem_equivalent_points: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        redeem_amount: Decimal,
    },
    #[serde(rename_all = "camelCase")]
    Held {
        customer_id: String,
        hold_reference: String,
        hold_equivalent_points: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        hold_amount: Decimal,
    },
    Released {
        success: bool,
        message: &'static str,
    },
    #[serde(rename_all = "camelCase")]
    Order {
        customer_id: String,
        order_id: String,
        gameball_transaction_id: i64,
        rewarded_points: i64,
        redeemed_points: i64,
    },
    #[serde(rename_all = "camelCase")]
    Refunded {
        customer_id: String,
        refund_transaction_id: String,
        gameball_transaction_id: i64,
        #[serde(with = "rust_decimal::serde::arbitrary_precision")]
        refund_amount: Decimal,
        refund_equivalent_points: i64,
    },
    #[serde(rename_all = "camelCase")]
    OrderTransactions {
        order_id: String,
        transactions: Vec<OrderTransaction>,
        count: usize,
    },
}
