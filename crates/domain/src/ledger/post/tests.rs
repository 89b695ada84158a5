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
            "nextExpiringPointsDate": "2025-03-17T10:00:00.000Z",
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

mod orders;

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

mod hostile;
