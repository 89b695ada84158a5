//! Ledger items through `chunk::apply`: the checks, the maths and the entries, as a store would run them.

use crate::chunk::{ChunkItems, apply};
use crate::ids::CustomerId;
use crate::ledger::{DAY, Ledger, MINUTE, Millis};
use crate::outcome::Outcome;
use crate::settings::ProgramSettings;
use crate::state::{ChunkState, CustomerRecord};
use serde_json::{Value, json};
use wire::BatchType;

const NOW: Millis = 1_741_946_400_000; // 2025-03-14T10:00:00Z
const T: &str = "2025-03-14T10:00:00Z";

fn chunk(batch_type: BatchType, body: Value) -> ChunkItems {
    ChunkItems::from_json_array(batch_type, &body)
}

/// A store's work in miniature: existing customers, fresh ids for the creatable
/// missing ones, movement ids, used transaction ids.
fn state(
    items: &ChunkItems,
    existing: &[(&str, Ledger)],
    used: &[&str],
    settings: ProgramSettings,
) -> ChunkState {
    let mut s = ChunkState {
        now: NOW,
        job_id: Some(77),
        ..ChunkState::default()
    };
    for (i, (id, ledger)) in existing.iter().enumerate() {
        let id = CustomerId::parse(id).unwrap();
        s.customers.insert(
            id.clone(),
            CustomerRecord {
                gameball_id: i as i64 + 1,
                customer_id: id,
                profile: Default::default(),
                ledger: ledger.clone(),
            },
        );
    }
    let mut next = 100;
    for (id, creates) in items.customer_ids() {
        if creates && !s.customers.contains_key(&id) {
            s.fresh_ids.insert(id, next);
            next += 1;
        }
    }
    let wanted: Vec<String> = items.transaction_ids();
    s.used_transaction_ids = wanted
        .into_iter()
        .filter(|t| used.contains(&t.as_str()))
        .collect();
    let n = items.movements_needed(&settings) as i64;
    s.movement_ids = (1000..1000 + n).rev().collect();
    s.settings = settings;
    s
}

/// Applies `items` with customer "c" holding `ledger`, default settings, nothing used.
fn on_c(items: ChunkItems, ledger: Ledger) -> crate::state::ChunkEffects {
    let st = state(&items, &[("c", ledger)], &[], ProgramSettings::default());
    apply(st, items)
}

fn entries(outcomes: &[Outcome]) -> Vec<Value> {
    outcomes.iter().map(Outcome::entry).collect()
}

fn with_points(points: i64) -> Ledger {
    let mut l = Ledger::default();
    let e = l.credit(0, points, 0, None).unwrap();
    l.apply(1, &e);
    l
}

#[test]
fn cashback_creates_the_customer_and_credits_floor_of_the_formula() {
    let settings = ProgramSettings {
        reward_wallet_factor: "3".parse().unwrap(),
        amount_reward_threshold: "10".parse().unwrap(),
        ..ProgramSettings::default()
    };
    let items = chunk(
        BatchType::Cashback,
        json!([
            {"customerId": "new", "transactionId": "t1", "transactionTime": T, "amount": 33.3},
            {"customerId": "new", "transactionId": "t2", "transactionTime": T, "amount": "100"}
        ]),
    );
    let fx = apply(state(&items, &[], &[], settings), items);
    assert_eq!(
        entries(&fx.outcomes),
        vec![
            json!({"index": 0, "customerId": "new", "transactionId": "t1", "gameballTransactionId": 1000, "rewardEquivalentPoints": 9, "rewardAmount": 0.9}),
            json!({"index": 1, "customerId": "new", "transactionId": "t2", "gameballTransactionId": 1001, "rewardEquivalentPoints": 30, "rewardAmount": 3}),
        ]
    );
    assert_eq!(fx.customer_writes.len(), 1);
    let w = &fx.customer_writes[0];
    assert!(w.is_new && w.ledger_changed);
    assert_eq!(w.record.ledger.balance(NOW).available, 39);
    assert_eq!(fx.movements.len(), 2);
    assert_eq!(fx.movements[1].amount, Some("100".parse().unwrap()));
}

#[test]
fn cashback_is_pending_for_the_return_window_then_expires() {
    let settings = ProgramSettings {
        return_window_days: 7,
        points_expiry_days: Some(30),
        ..ProgramSettings::default()
    };
    let items = chunk(
        BatchType::Cashback,
        json!([
            {"customerId": "c", "transactionId": "t1", "transactionTime": T, "amount": 10},
            {"customerId": "c", "transactionId": "t2", "transactionTime": T, "amount": 5, "configurations": {"returnWindow": 0}}
        ]),
    );
    let fx = apply(state(&items, &[], &[], settings), items);
    let l = &fx.customer_writes[0].record.ledger;
    let b = l.balance(NOW);
    assert_eq!((b.available, b.pending), (5, 10));
    assert_eq!(l.balance(NOW + 7 * DAY).available, 15);
    assert_eq!(
        l.balance(NOW + 30 * DAY).available,
        10,
        "the unwindowed lot expired first"
    );
    assert_eq!(l.balance(NOW + 37 * DAY).available, 0);
}

#[test]
fn items_of_one_customer_see_each_other_in_order() {
    let items = chunk(
        BatchType::Redeem,
        json!([
            {"customerId": "c", "transactionId": "r1", "transactionTime": T, "points": 60},
            {"customerId": "c", "transactionId": "r2", "transactionTime": T, "points": 60},
            {"customerId": "c", "transactionId": "r3", "transactionTime": T, "amount": 4}
        ]),
    );
    let fx = on_c(items, with_points(100));
    let e = entries(&fx.outcomes);
    assert_eq!(e[0]["redeemEquivalentPoints"], 60);
    assert_eq!(e[1]["code"], 9008);
    assert_eq!(e[1]["transactionId"], "r2");
    assert_eq!(e[1]["customerId"], "c");
    assert_eq!(
        e[1]["error"],
        "points: needs 60 points but only 40 are available"
    );
    assert_eq!(
        e[2],
        json!({"index": 2, "customerId": "c", "transactionId": "r3", "gameballTransactionId": 1001, "redeemEquivalentPoints": 40, "redeemAmount": 4})
    );
    assert_eq!(
        fx.customer_writes[0].record.ledger.balance(NOW).available,
        0
    );
    assert!(!fx.customer_writes[0].profile_changed);
}

#[test]
fn transaction_ids_are_unique_in_the_tenant_and_within_the_chunk() {
    let items = chunk(
        BatchType::Cashback,
        json!([
            {"customerId": "c", "transactionId": "old", "transactionTime": T, "amount": 1},
            {"customerId": "c", "transactionId": "dup", "transactionTime": T, "amount": 1},
            {"customerId": "c", "transactionId": "dup", "transactionTime": T, "amount": 1}
        ]),
    );
    let fx = apply(
        state(&items, &[], &["old"], ProgramSettings::default()),
        items,
    );
    let e = entries(&fx.outcomes);
    assert_eq!(e[0]["code"], 9004);
    assert_eq!(
        e[0]["error"],
        "transactionId: \"old\" was already used in this account"
    );
    assert!(fx.outcomes[1].is_success());
    assert_eq!(e[2]["code"], 9004);
}

#[test]
fn a_refused_item_does_not_use_up_its_transaction_id() {
    let items = chunk(
        BatchType::Redeem,
        json!([
            {"customerId": "c", "transactionId": "r", "transactionTime": T, "points": 500},
            {"customerId": "c", "transactionId": "r", "transactionTime": T, "points": 5}
        ]),
    );
    let fx = on_c(items, with_points(10));
    assert_eq!(fx.outcomes[0].entry()["code"], 9008);
    assert!(fx.outcomes[1].is_success());
}

#[test]
fn future_transaction_times_and_unknown_customers_fail_alone() {
    let soon = crate::fields::rfc3339(NOW + 5 * MINUTE);
    let late = crate::fields::rfc3339(NOW + 5 * MINUTE + 1000);
    let items = chunk(
        BatchType::Redeem,
        json!([
            {"customerId": "c", "transactionId": "a", "transactionTime": soon, "points": 1},
            {"customerId": "c", "transactionId": "b", "transactionTime": late, "points": 1},
            {"customerId": "ghost", "transactionId": "g", "transactionTime": T, "points": 1}
        ]),
    );
    let fx = on_c(items, with_points(10));
    let e = entries(&fx.outcomes);
    assert!(fx.outcomes[0].is_success(), "{}", e[0]);
    assert_eq!(e[1]["code"], 9007);
    assert_eq!(
        e[1]["error"],
        "transactionTime: more than 5 minutes in the future"
    );
    assert_eq!(e[2]["code"], 7000);
    assert_eq!(e[2]["error"], "customerId: no customer \"ghost\"");
    assert_eq!(
        fx.customer_writes.len(),
        1,
        "no customer was created for the unknown one"
    );
}

#[test]
fn adjustments_add_and_deduct_points_and_name_missing_ids_after_the_job() {
    let items = chunk(
        BatchType::BalanceAdjustment,
        json!([
            {"customerId": "c", "amount": 25, "reason": "goodwill", "expiryAfter": 2},
            {"customerId": "c", "amount": -30, "transactionId": "fix-1"},
            {"customerId": "c", "amount": -100}
        ]),
    );
    let fx = apply(
        state(
            &items,
            &[("c", with_points(10))],
            &["adj-77-9"],
            ProgramSettings::default(),
        ),
        items,
    );
    let e = entries(&fx.outcomes);
    assert_eq!(
        e[0],
        json!({"index": 0, "customerId": "c", "transactionId": "adj-77-0", "gameballTransactionId": 1000, "points": 25})
    );
    assert_eq!(e[1]["points"], -30);
    assert_eq!(e[2]["code"], 9008);
    assert_eq!(e[2]["transactionId"], "adj-77-2");
    let l = &fx.customer_writes[0].record.ledger;
    assert_eq!(l.balance(NOW).available, 5);
    assert_eq!(
        l.balance(NOW).next_expiring,
        None,
        "the expiring points were spent first"
    );
}

#[test]
fn balance_inquiry_reports_the_twelve_fields_and_moves_nothing() {
    let settings = ProgramSettings {
        points_name: "Stars".into(),
        ..ProgramSettings::default()
    };
    let mut l = with_points(100);
    let e = l.credit(0, 20, NOW + DAY, Some(NOW + 9 * DAY)).unwrap();
    l.apply(2, &e);
    let e = l.credit(0, 30, 0, Some(NOW + 3 * DAY)).unwrap();
    l.apply(3, &e);
    let items = chunk(
        BatchType::BalanceInquiry,
        json!([{"customerId": "c"}, {"customerId": "nobody"}]),
    );
    let fx = apply(state(&items, &[("c", l)], &[], settings), items);
    assert_eq!(
        fx.outcomes[0].entry(),
        json!({
            "index": 0, "customerId": "c",
            "totalPointsBalance": 150, "totalPointsValue": 15,
            "availablePointsBalance": 130, "availablePointsValue": 13,
            "pendingPoints": 20, "pendingPointsValue": 2,
            "currency": "USD", "pointsName": "Stars",
            "nextExpiringPointsAmount": 30, "nextExpiringPointsValue": 3,
            "nextExpiringPointsDate": "2025-03-17T10:00:00Z",
            "totalEarnedPoints": 150
        })
    );
    assert_eq!(fx.outcomes[1].entry()["code"], 7000);
    assert!(fx.customer_writes.is_empty() && fx.movements.is_empty());
}

#[test]
fn holds_reserve_then_a_redemption_uses_them_once() {
    use crate::ledger::parse::{LedgerItem, LedgerOp, Quantity, RedeemWith};
    let c = CustomerId::parse("c").unwrap();
    let hold = ChunkItems::single(LedgerItem {
        customer_id: c.clone(),
        op: LedgerOp::Hold {
            transaction_time: NOW,
            quantity: Quantity::Points(70),
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
    assert_eq!(
        fx.outcomes[0].entry(),
        json!({"index": 0, "customerId": "c", "holdReference": "hold-1000", "holdEquivalentPoints": 70, "holdAmount": 7})
    );
    let ledger = fx.customer_writes[0].record.ledger.clone();
    assert_eq!(ledger.balance(NOW).available, 30);

    let redeem = |tx: &str| LedgerItem {
        customer_id: c.clone(),
        op: LedgerOp::Redeem {
            transaction_id: tx.into(),
            transaction_time: NOW,
            with: RedeemWith::Hold("hold-1000".into()),
        },
    };
    let items = ChunkItems::Ledger(vec![
        crate::chunk::Parsed {
            index: 0,
            item: Ok(redeem("r1")),
        },
        crate::chunk::Parsed {
            index: 1,
            item: Ok(redeem("r2")),
        },
    ]);
    let fx = on_c(items, ledger.clone());
    assert_eq!(fx.outcomes[0].entry()["redeemEquivalentPoints"], 70);
    assert_eq!(fx.outcomes[1].entry()["code"], 9006);
    assert_eq!(
        fx.customer_writes[0].record.ledger.balance(NOW).available,
        30
    );

    // After its expiry the hold can be neither used nor released.
    let release = ChunkItems::single(LedgerItem {
        customer_id: c,
        op: LedgerOp::Release {
            reference: "hold-1000".into(),
        },
    });
    let mut st = state(&release, &[("c", ledger)], &[], ProgramSettings::default());
    st.now = NOW + 10 * MINUTE;
    let fx = apply(st, release);
    assert_eq!(fx.outcomes[0].entry()["code"], 9006);
}

#[test]
fn rewarded_events_credit_points() {
    let mut settings = ProgramSettings::default();
    settings.event_rewards.insert("review".into(), 15);
    settings.event_rewards.insert("login".into(), 1);
    let items = chunk(
        BatchType::Events,
        json!([
            {"customerId": "c", "events": {"review": {"stars": 5}, "login": {}}},
            {"customerId": "c", "events": {"visit": {}}}
        ]),
    );
    let fx = apply(state(&items, &[], &[], settings), items);
    assert_eq!(fx.outcomes[0].entry()["rewardedPoints"], 16);
    assert_eq!(fx.outcomes[1].entry()["rewardedPoints"], 0);
    assert_eq!(fx.movements.len(), 1);
    let w = &fx.customer_writes[0];
    assert!(w.is_new);
    assert_eq!(w.record.ledger.balance(NOW).available, 16);
}

// ---- orders, refunds, order transactions ----

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

// ---- limits: nothing wraps, nothing half-happens ----

use crate::limits::{MAX_BALANCE, MAX_POINTS};

#[test]
fn a_credit_past_the_balance_limit_is_refused_and_records_nothing() {
    let items = chunk(
        BatchType::BalanceAdjustment,
        json!([
            {"customerId": "c", "amount": 6},
            {"customerId": "c", "amount": 5},
            {"customerId": "c", "amount": -1}
        ]),
    );
    let fx = on_c(items, with_points(MAX_BALANCE - 5));
    let e = entries(&fx.outcomes);
    assert_eq!(e[0]["code"], 3003);
    assert_eq!(
        e[0]["error"],
        "amount: 6 more points would take the customer past 1000000000000000 points"
    );
    assert_eq!(e[1]["points"], 5, "exactly at the limit is fine");
    assert_eq!(e[2]["points"], -1);
    assert_eq!(fx.movements.len(), 2);
    let b = fx.customer_writes[0].record.ledger.balance(NOW);
    assert_eq!(b.available, MAX_BALANCE - 1);
}

#[test]
fn conversions_beyond_the_points_limit_fail_naming_the_field() {
    let items = chunk(
        BatchType::Redeem,
        json!([{"customerId": "c", "transactionId": "r", "transactionTime": T, "amount": 1_000_000_000_000i64}]),
    );
    let fx = on_c(items, with_points(100));
    assert_eq!(
        fx.outcomes[0].entry()["error"],
        format!("amount: worth more than {MAX_POINTS} points at this program's factors")
    );
    // A cashback that would earn too much creates no customer.
    let settings = ProgramSettings {
        reward_wallet_factor: rust_decimal::Decimal::from(1000),
        ..ProgramSettings::default()
    };
    let items = chunk(
        BatchType::Cashback,
        json!([{"customerId": "new", "transactionId": "t", "transactionTime": T, "amount": 1_000_000_000_000i64}]),
    );
    let fx = apply(state(&items, &[], &[], settings), items);
    assert_eq!(fx.outcomes[0].entry()["code"], 3003);
    assert!(fx.customer_writes.is_empty() && fx.movements.is_empty());
}

#[test]
fn event_rewards_past_the_points_limit_fail_the_item_and_create_nobody() {
    let mut settings = ProgramSettings::default();
    settings.event_rewards.insert("a".into(), MAX_POINTS);
    settings.event_rewards.insert("b".into(), 1);
    let items = chunk(
        BatchType::Events,
        json!([
            {"customerId": "n", "events": {"a": {}, "b": {}}},
            {"customerId": "m", "events": {"a": {}}}
        ]),
    );
    let fx = apply(state(&items, &[], &[], settings), items);
    let e = entries(&fx.outcomes);
    assert_eq!(e[0]["code"], 3003);
    assert!(e[0]["error"].as_str().unwrap().starts_with("events: "));
    assert_eq!(e[1]["rewardedPoints"], MAX_POINTS);
    assert_eq!(fx.customer_writes.len(), 1, "only m");
    assert_eq!(fx.events.len(), 1);
}

mod hostile {
    //! Items of every batch type with extreme numbers and control characters,
    //! mixed with valid ones, applied as one chunk: nothing panics or wraps, the
    //! ledger equals its movements, and the valid items apply.
    use super::*;
    use crate::ledger::Entry;
    use proptest::prelude::*;

    /// Numbers as JSON text: zero, signs, powers of ten up to 10^40, long
    /// decimals, exponents, and the same as strings.
    fn number() -> impl Strategy<Value = String> {
        let plain = prop_oneof![
            Just("0".to_owned()),
            Just("-0".to_owned()),
            (0u32..=40).prop_map(|k| format!("1{}", "0".repeat(k as usize))),
            (0u32..=40).prop_map(|k| format!("-1{}", "0".repeat(k as usize))),
            (1u32..=30).prop_map(|k| format!("0.{}1", "0".repeat(k as usize))),
            Just("79228162514264337593543950335".to_owned()),
            Just("79228162514264337593543950336".to_owned()),
            Just("9223372036854775807".to_owned()),
            Just("-9223372036854775808".to_owned()),
            (-40i32..=40).prop_map(|e| format!("1.5e{e}")),
            (1i64..1_000_000).prop_map(|n| n.to_string()),
            (1i64..1_000_000, 1u32..=9)
                .prop_map(|(n, d)| format!("{n}.{}", "7".repeat(d as usize))),
        ];
        prop_oneof![4 => plain.clone(), 1 => plain.prop_map(|n| format!("\"{n}\""))]
    }

    /// An id: usually plain, sometimes with a control character, sometimes long.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (0u8..4).prop_map(|i| format!("c{i}")),
            1 => (0u32..32).prop_map(|c| format!("c\\u{c:04x}x")),
            1 => Just("x".repeat(300)),
        ]
    }

    fn hostile_item(t: BatchType) -> impl Strategy<Value = String> {
        (id(), id(), number(), number()).prop_map(move |(c, tx, n, m)| match t {
            BatchType::Customers => format!(
                r#"{{"customerId":"{c}","customerAttributes":{{"totalSpent":{n},"totalOrders":{m},"displayName":"{tx}"}}}}"#
            ),
            BatchType::Events => format!(r#"{{"customerId":"{c}","events":{{"{tx}":{{"v":{n}}}}}}}"#),
            BatchType::BalanceAdjustment => {
                format!(r#"{{"customerId":"{c}","amount":{n},"transactionId":"{tx}","expiryAfter":{m}}}"#)
            }
            BatchType::Cashback => format!(
                r#"{{"customerId":"{c}","transactionId":"{tx}","transactionTime":"{T}","amount":{n},"configurations":{{"returnWindow":{m}}}}}"#
            ),
            BatchType::Redeem => format!(
                r#"{{"customerId":"{c}","transactionId":"{tx}","transactionTime":"{T}","{}":{n}}}"#,
                if m.len() % 2 == 0 { "amount" } else { "points" }
            ),
            BatchType::Orders => format!(
                r#"{{"customerId":"{c}","orderId":"{tx}","orderDate":"{T}","totalPaid":{n},"totalPrice":{m}}}"#
            ),
            BatchType::BalanceInquiry => format!(r#"{{"customerId":"{c}"}}"#),
            BatchType::OrderTransactions => format!(r#""{tx}""#),
        })
    }

    /// An item that must apply (or, for spending, fail only for want of points).
    fn valid_item(t: BatchType, i: usize) -> String {
        match t {
            BatchType::Customers => format!(r#"{{"customerId":"c{}","email":"v@x.io"}}"#, i % 4),
            BatchType::Events => {
                format!(r#"{{"customerId":"c{}","events":{{"visit":{{}}}}}}"#, i % 4)
            }
            BatchType::BalanceAdjustment => format!(r#"{{"customerId":"c{}","amount":1}}"#, i % 4),
            BatchType::Cashback => format!(
                r#"{{"customerId":"c{}","transactionId":"valid-{i}","transactionTime":"{T}","amount":1}}"#,
                i % 4
            ),
            BatchType::Redeem => format!(
                r#"{{"customerId":"c{}","transactionId":"valid-{i}","transactionTime":"{T}","points":1}}"#,
                i % 4
            ),
            BatchType::Orders => format!(
                r#"{{"customerId":"c{}","orderId":"valid-{i}","orderDate":"{T}","totalPaid":1}}"#,
                i % 4
            ),
            BatchType::BalanceInquiry => format!(r#"{{"customerId":"c{}"}}"#, i % 4),
            BatchType::OrderTransactions => r#""none""#.to_owned(),
        }
    }

    fn batch_type() -> impl Strategy<Value = BatchType> {
        proptest::sample::select(BatchType::ALL.to_vec())
    }

    fn case() -> impl Strategy<Value = (BatchType, Vec<(bool, String)>)> {
        batch_type().prop_flat_map(|t| {
            let item = prop_oneof![hostile_item(t).prop_map(Some), Just(None)];
            (Just(t), proptest::collection::vec(item, 1..40)).prop_map(|(t, items)| {
                // Valid items get ids of their own position: never a duplicate.
                let items = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Some(hostile) => (false, hostile),
                        None => (true, valid_item(t, i)),
                    })
                    .collect();
                (t, items)
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn hostile_chunks_never_panic_wrap_or_lose_valid_items((t, items) in case()) {
            let texts: Vec<&str> = items.iter().map(|(_, s)| s.as_str()).collect();
            let chunk = ChunkItems::parse(t, texts.iter().enumerate().map(|(i, s)| (i as u32, *s)));
            // Four existing customers, each with a lot of 10^9 points (movement i+1).
            let seed = |i: i64| {
                let mut l = Ledger::default();
                let e = l.credit(NOW, 1_000_000_000, NOW, None).unwrap();
                l.apply(i + 1, &e);
                (e, l)
            };
            let seeds: Vec<(Entry, Ledger)> = (0..4).map(seed).collect();
            let existing: Vec<(String, Ledger)> =
                (0..4).map(|i| (format!("c{i}"), seeds[i].1.clone())).collect();
            let existing: Vec<(&str, Ledger)> =
                existing.iter().map(|(c, l)| (c.as_str(), l.clone())).collect();
            let st = state(&chunk, &existing, &[], ProgramSettings::default());
            let fx = apply(st, chunk);
            prop_assert_eq!(fx.outcomes.len(), items.len());
            for (o, (valid, text)) in fx.outcomes.iter().zip(&items) {
                let entry = o.entry();
                if *valid {
                    let spends = t == BatchType::Redeem;
                    let not_found = t == BatchType::OrderTransactions;
                    prop_assert!(
                        o.is_success() || (spends && entry["code"] == 9008) || (not_found && entry["code"] == 4004),
                        "valid item failed: {} → {}", text, entry
                    );
                }
                if let Some(quoted) = entry["customerId"].as_str() {
                    prop_assert!(quoted.chars().count() <= 201, "{}", entry);
                }
                if let Some(message) = entry["error"].as_str() {
                    prop_assert!(message.len() < 400, "{}", message);
                }
            }
            for w in &fx.customer_writes {
                let ledger = &w.record.ledger;
                let b = ledger.balance(NOW);
                prop_assert!(b.available >= 0 && b.pending >= 0 && b.held >= 0, "{:?}", b);
                prop_assert!(b.total() <= MAX_BALANCE && b.earned <= MAX_BALANCE, "{:?}", b);
                // The ledger is exactly its movements replayed.
                let g = w.record.gameball_id;
                let mut history: Vec<(i64, Millis, &Entry)> = Vec::new();
                if !w.is_new {
                    history.push((g, NOW, &seeds[(g - 1) as usize].0));
                }
                history.extend(fx.movements.iter().filter(|m| m.gameball_id == g).map(|m| (m.id, NOW, &m.entry)));
                // Equal once both are settled: a refused spend may settle (drop an
                // emptied lot) without a movement; settling is lazy normalisation.
                let mut replayed = Ledger::replay(history);
                replayed.settle(NOW);
                let mut live = ledger.clone();
                live.settle(NOW);
                prop_assert_eq!(replayed, live);
            }
        }
    }
}
