//! Orders, refunds and order transactions through `chunk::apply`.

use super::*;

use crate::ledger::parse::{LedgerItem, LedgerOp};
use crate::movement::{Movement, StoredMovement};

fn stored(movements: &[Movement]) -> Vec<StoredMovement> {
    movements
        .iter()
        .map(|m| StoredMovement {
            movement: m.clone(),
            created_at: NOW,
        })
        .collect()
}

/// Runs `items` for customer "c" (with `ledger`) over `history`; returns the effects.
fn run_with(items: ChunkItems, ledger: Ledger, history: &[Movement]) -> crate::state::ChunkEffects {
    let mut st = state(&items, &[("c", ledger)], &[], ProgramSettings::default());
    st.recorded = stored(history);
    st.used_transaction_ids = history
        .iter()
        .filter_map(|m| m.transaction_id.clone())
        .filter(|t| items.transaction_ids().contains(t))
        .collect();
    st.movement_ids = (2000..2000 + items.movements_needed(&st.settings) as i64)
        .rev()
        .collect();
    apply(st, items)
}

fn refund(reverse: &str, id: &str, amount: Option<f64>) -> ChunkItems {
    let mut body = json!({"customerId": "c", "refundTransactionId": id, "reverseTransactionId": reverse, "transactionTime": T});
    if let Some(a) = amount {
        body["refundAmount"] = json!(a);
    }
    ChunkItems::single(crate::ledger::parse::parse_refund(body).unwrap())
}

#[test]
fn an_order_earns_on_total_paid_and_consumes_its_hold() {
    let c = CustomerId::parse("c").unwrap();
    let hold = ChunkItems::single(LedgerItem {
        customer_id: c.clone(),
        op: LedgerOp::Hold {
            transaction_time: NOW,
            quantity: crate::ledger::parse::Quantity::Points(40),
        },
    });
    let fx = apply(
        state(
            &hold,
            &[("c", with_points(100))],
            &[],
            ProgramSettings::default(),
        ),
        hold,
    );
    let ledger = fx.customer_writes[0].record.ledger.clone();
    let reference = fx.outcomes[0].entry()["holdReference"]
        .as_str()
        .unwrap()
        .to_owned();

    let items = chunk(
        BatchType::Orders,
        json!([
            {"customerId": "c", "orderId": "o1", "orderDate": T, "totalPaid": 99.5, "totalPrice": 120,
             "lineItems": [{"productId": "p"}], "redemption": {"pointsHoldReference": reference}},
            {"customerId": "c", "orderId": "o1", "orderDate": T, "totalPaid": 1},
            {"customerId": "c", "orderId": "o2", "orderDate": crate::fields::rfc3339(NOW + 6 * MINUTE), "totalPaid": 1},
            {"customerId": "c", "orderId": "o3", "orderDate": T, "totalPaid": 1, "redemption": {"pointsHoldReference": "hold-9"}},
            {"customerId": "c", "orderId": "o4", "orderDate": T, "totalPaid": 1, "totalTax": -1}
        ]),
    );
    let fx = run_with(items, ledger, &[]);
    let e = entries(&fx.outcomes);
    assert_eq!(
        e[0],
        json!({"index": 0, "customerId": "c", "orderId": "o1", "gameballTransactionId": 2000, "rewardedPoints": 99, "redeemedPoints": 40})
    );
    assert_eq!(
        (e[1]["code"].clone(), e[1]["error"].clone()),
        (
            json!(9004),
            json!("orderId: \"o1\" was already used in this account")
        )
    );
    assert_eq!(e[1]["orderId"], "o1");
    assert_eq!(
        e[2]["error"],
        "orderDate: more than 5 minutes in the future"
    );
    assert_eq!(e[3]["code"], 9006);
    assert_eq!(e[4]["error"], "totalTax: must not be negative");
    assert_eq!(fx.movements.len(), 2, "the refused order recorded nothing");
    assert_eq!(
        fx.customer_writes[0].record.ledger.balance(NOW).available,
        60 + 99
    );
}

#[test]
fn refunds_claw_back_exactly_what_was_earned_even_in_parts() {
    let items = chunk(
        BatchType::Cashback,
        json!([{"customerId": "c", "transactionId": "buy", "transactionTime": T, "amount": 10}]),
    );
    let fx = run_with(items, Ledger::default(), &[]);
    let mut history = fx.movements.clone();
    let mut ledger = fx.customer_writes[0].record.ledger.clone();
    // Three refunds of 3.33 + 3.33 + the rest: floor(10 × 3.33 / 10) = 3, then 6 − 3, then 10 − 6.
    let mut clawed = vec![];
    for (i, amount) in [Some(3.33), Some(3.33), None].into_iter().enumerate() {
        let fx = run_with(
            refund("buy", &format!("rf{i}"), amount),
            ledger.clone(),
            &history,
        );
        let e = fx.outcomes[0].entry();
        assert!(fx.outcomes[0].is_success(), "{e}");
        clawed.push(e["refundEquivalentPoints"].as_i64().unwrap());
        history.extend(fx.movements.clone());
        ledger = fx.customer_writes[0].record.ledger.clone();
    }
    assert_eq!(clawed, [3, 3, 4]);
    assert_eq!(ledger.balance(NOW).available, 0);
    assert_eq!(
        ledger.balance(NOW).earned,
        0,
        "clawed-back points were never earned"
    );
    let fx = run_with(refund("buy", "rf9", Some(1.0)), ledger.clone(), &history);
    assert_eq!(fx.outcomes[0].entry()["code"], 4009);
    let fx = run_with(refund("nope", "rf9", None), ledger.clone(), &history);
    assert_eq!(fx.outcomes[0].entry()["code"], 9002);
    assert_eq!(fx.outcomes[0].entry()["refundTransactionId"], "rf9");
}

#[test]
fn a_refund_beyond_what_is_left_is_refused_and_a_spent_earning_leaves_a_debt() {
    let items = chunk(
        BatchType::Cashback,
        json!([{"customerId": "c", "transactionId": "buy", "transactionTime": T, "amount": 100}]),
    );
    let fx = run_with(items, Ledger::default(), &[]);
    let history = fx.movements.clone();
    let mut ledger = fx.customer_writes[0].record.ledger.clone();
    let e = ledger.debit(NOW, 90).unwrap();
    ledger.apply(50, &e);
    let fx = run_with(refund("buy", "rf", Some(100.01)), ledger.clone(), &history);
    assert_eq!(
        fx.outcomes[0].entry()["error"],
        "refundAmount: only 100 of 100 is left to refund"
    );
    let fx = run_with(refund("buy", "rf", None), ledger.clone(), &history);
    assert_eq!(fx.outcomes[0].entry()["refundEquivalentPoints"], 100);
    assert_eq!(
        fx.customer_writes[0].record.ledger.balance(NOW).available,
        -90,
        "the clawback's debt (SPEC §5.9)"
    );
}

#[test]
fn refunding_a_redemption_or_a_whole_order_gives_points_back() {
    let redeem = chunk(
        BatchType::Redeem,
        json!([{"customerId": "c", "transactionId": "r", "transactionTime": T, "amount": 5}]),
    );
    let fx = run_with(redeem, with_points(100), &[]);
    let history = fx.movements.clone();
    let ledger = fx.customer_writes[0].record.ledger.clone();
    assert_eq!(ledger.balance(NOW).available, 50);
    let fx = run_with(refund("r", "rf", Some(2.5)), ledger, &history);
    assert_eq!(fx.outcomes[0].entry()["refundEquivalentPoints"], 25);
    let l = &fx.customer_writes[0].record.ledger;
    assert_eq!(l.balance(NOW).available, 75);
    assert_eq!(
        l.balance(NOW).earned,
        100,
        "given-back points are not earnings"
    );

    // An order that redeemed a hold: its full refund claws back the earning and gives the redeemed points back.
    let c = CustomerId::parse("c").unwrap();
    let hold = ChunkItems::single(LedgerItem {
        customer_id: c,
        op: LedgerOp::Hold {
            transaction_time: NOW,
            quantity: crate::ledger::parse::Quantity::Points(30),
        },
    });
    let fx = apply(
        state(
            &hold,
            &[("c", with_points(30))],
            &[],
            ProgramSettings::default(),
        ),
        hold,
    );
    let reference = fx.outcomes[0].entry()["holdReference"]
        .as_str()
        .unwrap()
        .to_owned();
    let order = chunk(
        BatchType::Orders,
        json!([{"customerId": "c", "orderId": "o", "orderDate": T, "totalPaid": 20, "redemption": {"pointsHoldReference": reference}}]),
    );
    let fx = run_with(order, fx.customer_writes[0].record.ledger.clone(), &[]);
    let history = fx.movements.clone();
    let ledger = fx.customer_writes[0].record.ledger.clone();
    assert_eq!(ledger.balance(NOW).available, 20);
    let fx = run_with(refund("o", "rf-o", None), ledger, &history);
    assert_eq!(fx.outcomes[0].entry()["refundEquivalentPoints"], 20);
    assert_eq!(fx.movements.len(), 2, "the clawback and the restore");
    assert_eq!(
        fx.customer_writes[0].record.ledger.balance(NOW).available,
        30
    );

    let mut all = history.clone();
    all.extend(fx.movements.clone());
    let items = chunk(BatchType::OrderTransactions, json!(["o", "missing"]));
    let mut st = state(&items, &[], &[], ProgramSettings::default());
    st.recorded = stored(&all);
    let fx = apply(st, items);
    let e = entries(&fx.outcomes);
    assert_eq!(e[0]["count"], 4);
    let types: Vec<&str> = e[0]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transactionType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["order", "redemption", "refund", "refund_restore"]);
    assert_eq!(e[0]["transactions"][0]["amount"], json!(20));
    assert_eq!(e[0]["transactions"][0]["transactionId"], "o");
    assert_eq!(
        e[1],
        json!({"index": 1, "customerId": "missing", "orderId": "missing", "code": 4004,
        "error": "orderId: no order \"missing\"", "message": "orderId: no order \"missing\""})
    );
}
