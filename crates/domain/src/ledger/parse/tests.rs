//! Tests of parsing ledger items: every field, its limits and its error.

use super::*;
use serde_json::json;
use wire::ErrorCode;

fn fails(r: ParseResult<LedgerItem>) -> (ErrorCode, String) {
    let r = r.unwrap_err();
    (r.failure.code, r.failure.message)
}

#[test]
fn cashback_reads_every_field() {
    let item = parse_cashback(json!({
        "customerId": "c1", "transactionId": "t1", "transactionTime": "2025-03-14T10:00:00+02:00",
        "amount": 99.95, "configurations": {"returnWindow": 14}, "merchant": {"uniqueId": "m"}
    }))
    .unwrap();
    assert_eq!(item.customer_id.as_str(), "c1");
    assert_eq!(
        item.op,
        LedgerOp::Cashback {
            transaction_id: "t1".into(),
            transaction_time: 1_741_939_200_000,
            amount: Decimal::new(9995, 2),
            return_window_days: Some(14),
        }
    );
    assert!(item.creates_customer());
}

#[test]
fn every_problem_names_its_field() {
    let base = json!({"customerId": "c", "transactionId": "t", "transactionTime": "2025-01-01T00:00:00Z", "amount": 5});
    let with = |k: &str, v: Value| {
        let mut o = base.clone();
        if v.is_null() {
            o.as_object_mut().unwrap().remove(k);
        } else {
            o[k] = v;
        }
        o
    };
    let cases = [
        (
            parse_cashback(with("transactionId", Value::Null)),
            ErrorCode::MissingField,
            "transactionId: required",
        ),
        (
            parse_cashback(with("transactionId", json!(12))),
            ErrorCode::InvalidValue,
            "transactionId: must be a string",
        ),
        (
            parse_cashback(with("transactionId", json!("x".repeat(201)))),
            ErrorCode::LimitExceeded,
            "transactionId: longer than 200 characters",
        ),
        (
            parse_cashback(with("transactionTime", json!("yesterday"))),
            ErrorCode::InvalidValue,
            "transactionTime: not a timestamp",
        ),
        (
            parse_cashback(with("amount", json!(-1))),
            ErrorCode::InvalidValue,
            "amount: must not be negative",
        ),
        (
            parse_cashback(with("amount", json!("ten"))),
            ErrorCode::InvalidValue,
            "amount: must be a number",
        ),
        (
            parse_cashback(with("configurations", json!({"returnWindow": -2}))),
            ErrorCode::InvalidValue,
            "configurations.returnWindow: must be a whole number of days",
        ),
        (
            parse_redeem(with("amount", Value::Null)),
            ErrorCode::MissingField,
            "amount: required",
        ),
        (
            parse_redeem(with("points", json!(3))),
            ErrorCode::InvalidValue,
            "amount: give exactly one of",
        ),
        (
            parse_redeem(with("amount", json!(0))),
            ErrorCode::InvalidValue,
            "amount: must be greater than 0",
        ),
        (
            parse_adjustment(json!({"customerId": "c", "amount": 0})),
            ErrorCode::InvalidValue,
            "amount: must not be 0",
        ),
        (
            parse_adjustment(json!({"customerId": "c", "amount": 1.5})),
            ErrorCode::InvalidValue,
            "amount: must be a whole number of points",
        ),
        (
            parse_adjustment(json!({"customerId": "c", "amount": -5, "expiryAfter": 3})),
            ErrorCode::InvalidValue,
            "expiryAfter: only for additions",
        ),
        (
            parse_adjustment(json!({"customerId": "c"})),
            ErrorCode::MissingField,
            "amount: required",
        ),
        (
            parse_manual(
                json!({"customerId": "c", "transactionId": "t", "reason": "r", "points": 1}),
            ),
            ErrorCode::MissingField,
            "username: required",
        ),
        (
            parse_manual(
                json!({"customerId": "c", "transactionId": "t", "username": "u", "reason": "r", "points": 1, "amount": 2}),
            ),
            ErrorCode::InvalidValue,
            "points: give either",
        ),
        (
            parse_hold(json!({"customerId": "c", "transactionTime": "2025-01-01T00:00:00Z"})),
            ErrorCode::MissingField,
            "pointsToHold: required",
        ),
        (
            parse_hold(
                json!({"customerId": "c", "transactionTime": "2025-01-01T00:00:00Z", "pointsToHold": -1}),
            ),
            ErrorCode::InvalidValue,
            "pointsToHold: must be greater than 0",
        ),
        (
            parse_balance(json!({"customerId": ""})),
            ErrorCode::InvalidValue,
            "customerId: must not be empty",
        ),
    ];
    for (result, code, start) in cases {
        let (c, message) = fails(result);
        assert_eq!(c, code, "{message}");
        assert!(
            message.starts_with(start),
            "{message:?} should start with {start:?}"
        );
    }
}

#[test]
fn a_rejected_item_reports_its_customer_and_transaction() {
    let r = parse_redeem(json!({"customerId": "c9", "transactionId": "t9"})).unwrap_err();
    assert_eq!(r.customer_id.as_deref(), Some("c9"));
    assert_eq!(r.key, Some(NaturalKey::transaction("t9")));
    assert_eq!(r.failure.message, "transactionTime: required");
}

#[test]
fn redeem_and_hold_take_exactly_one_quantity() {
    let t = "2025-01-01T00:00:00Z";
    let by_hold = parse_redeem(json!({"customerId": "c", "transactionId": "t", "transactionTime": t, "holdReference": "h-1"})).unwrap();
    assert!(
        matches!(by_hold.op, LedgerOp::Redeem { with: RedeemWith::Hold(ref h), .. } if h == "h-1")
    );
    let hold = parse_hold(json!({"customerId": "c", "transactionTime": t, "amountToHold": "2.5"}))
        .unwrap();
    assert!(
        matches!(hold.op, LedgerOp::Hold { quantity: Quantity::Amount(a), .. } if a == Decimal::new(25, 1))
    );
    let manual = parse_manual(json!({"customerId": "c", "transactionId": "t", "username": "u", "reason": "r", "amount": -3})).unwrap();
    assert!(
        matches!(manual.op, LedgerOp::Adjust { quantity: Quantity::Amount(a), .. } if a == Decimal::from(-3))
    );
}

#[test]
fn whole_numbers_written_with_a_zero_fraction_are_the_integers_they_name() {
    let adj = parse_adjustment(json!({"customerId": "c", "amount": 2.0})).unwrap();
    assert!(matches!(
        adj.op,
        LedgerOp::Adjust {
            quantity: Quantity::Points(2),
            ..
        }
    ));
    let text = r#"{"customerId":"c","transactionId":"t","transactionTime":"2025-01-01T00:00:00Z","points":5e0}"#;
    let redeem = parse_redeem(serde_json::from_str(text).unwrap()).unwrap();
    assert!(matches!(
        redeem.op,
        LedgerOp::Redeem {
            with: RedeemWith::Quantity(Quantity::Points(5)),
            ..
        }
    ));
    let adj =
        parse_adjustment(json!({"customerId": "c", "amount": 3, "expiryAfter": 30.0})).unwrap();
    assert!(matches!(
        adj.op,
        LedgerOp::Adjust {
            expiry_after_days: Some(30),
            ..
        }
    ));
    assert_eq!(
        fails(parse_adjustment(json!({"customerId": "c", "amount": 2.5}))),
        (
            ErrorCode::InvalidValue,
            "amount: must be a whole number of points".into()
        )
    );
    let huge = r#"{"customerId":"c","amount":1e15}"#;
    assert_eq!(
        fails(parse_adjustment(serde_json::from_str(huge).unwrap())).0,
        ErrorCode::InvalidValue
    );
}

#[test]
fn expiry_after_zero_is_not_given_and_a_manual_deduction_may_not_have_one() {
    let manual = |points: i64, expiry: u32| {
        parse_manual(
            json!({"customerId": "c", "transactionId": "m", "username": "u",
            "reason": "r", "points": points, "expiryAfter": expiry}),
        )
    };
    let zero = manual(-5, 0).unwrap();
    assert!(matches!(
        zero.op,
        LedgerOp::Adjust {
            expiry_after_days: None,
            ..
        }
    ));
    assert_eq!(
        fails(manual(-5, 30)),
        (
            ErrorCode::InvalidValue,
            "expiryAfter: only for additions (points > 0)".into()
        )
    );
    assert!(manual(5, 30).is_ok());
    let by_money = parse_manual(
        json!({"customerId": "c", "transactionId": "m", "username": "u",
        "reason": "r", "amount": -2.5, "expiryAfter": 3}),
    );
    assert_eq!(fails(by_money).0, ErrorCode::InvalidValue);
}

#[test]
fn a_reward_preview_needs_what_was_paid_and_may_name_a_customer() {
    let (customer, paid) =
        parse_reward_preview(json!({"totalPaid": 90, "totalPrice": 100})).unwrap();
    assert_eq!((customer, paid), (None, Decimal::from(90)));
    let (customer, _) =
        parse_reward_preview(json!({"customerId": "c", "totalPaid": "1.5"})).unwrap();
    assert_eq!(customer.unwrap().as_str(), "c");
    assert_eq!(
        parse_reward_preview(json!({})).unwrap_err().code,
        ErrorCode::MissingField
    );
    assert_eq!(
        parse_reward_preview(json!({"totalPaid": -1}))
            .unwrap_err()
            .code,
        ErrorCode::InvalidValue
    );
    assert_eq!(
        parse_reward_preview(json!({"customerId": 5, "totalPaid": 1}))
            .unwrap_err()
            .code,
        ErrorCode::InvalidValue
    );
}
