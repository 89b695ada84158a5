//! Local validation of one item with the server's own domain rules, so bad rows are reported with their row number before anything is sent.

use domain::ledger::parse as transactions;
use domain::outcome::ItemFailure;
use domain::{customers, events, limits};
use serde_json::Value;
use wire::{BatchType, ErrorCode};

/// Whether `text` is a valid item of `batch_type` (as the server would parse it).
pub fn check(batch_type: BatchType, text: &str) -> Result<(), ItemFailure> {
    if text.len() > limits::MAX_ITEM_BYTES {
        return Err(ItemFailure::new(
            ErrorCode::LimitExceeded,
            format!("item: larger than {} bytes", limits::MAX_ITEM_BYTES),
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ItemFailure::new(ErrorCode::MalformedPayload, format!("item: not JSON ({e})"))
    })?;
    let rejected = match batch_type {
        BatchType::Customers => customers::parse(value).err(),
        BatchType::Events => events::parse(value).err(),
        BatchType::BalanceInquiry => transactions::parse_balance(value).err(),
        BatchType::BalanceAdjustment => transactions::parse_adjustment(value).err(),
        BatchType::Cashback => transactions::parse_cashback(value).err(),
        BatchType::Redeem => transactions::parse_redeem(value).err(),
        BatchType::Orders => transactions::parse_order(value).err(),
        BatchType::OrderTransactions => transactions::parse_order_id(value).err(),
    };
    match rejected {
        Some(r) => Err(r.failure),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_rules_apply_before_sending() {
        assert!(
            check(
                BatchType::Customers,
                r#"{"customerId":"c","email":"a@b.c"}"#
            )
            .is_ok()
        );
        let f = check(BatchType::Customers, r#"{"email":"a@b.c"}"#).unwrap_err();
        assert_eq!(
            (f.code, f.message.as_str()),
            (ErrorCode::MissingField, "customerId: required")
        );
        let f = check(BatchType::Cashback, r#"{"customerId":"c","transactionId":"t","transactionTime":"2025-01-01T00:00:00Z","amount":"x"}"#).unwrap_err();
        assert_eq!(f.message, "amount: must be a number");
        assert!(check(BatchType::OrderTransactions, r#""o-1""#).is_ok());
        assert_eq!(
            check(BatchType::Events, "{").unwrap_err().code,
            ErrorCode::MalformedPayload
        );
        let big = format!(
            r#"{{"customerId":"c","displayName":"{}"}}"#,
            "x".repeat(70_000)
        );
        let f = check(BatchType::Customers, &big).unwrap_err();
        assert_eq!(
            (f.code, f.message.as_str()),
            (ErrorCode::LimitExceeded, "item: larger than 65536 bytes")
        );
    }
}
