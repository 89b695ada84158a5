//! Conformance: program settings, ledger movements, holds and transaction-id uniqueness.

use super::*;
use domain::ledger::parse::{self as transactions, LedgerItem};
use domain::settings::ProgramSettings;
use domain::{ErrorCode, Success};
use serde_json::json;
use std::sync::Arc;

fn item(
    parse: fn(serde_json::Value) -> domain::outcome::ParseResult<LedgerItem>,
    v: serde_json::Value,
) -> ChunkItems {
    ChunkItems::single(parse(v).unwrap())
}

pub async fn program_settings_are_stored_per_tenant(store: Arc<dyn Store>) {
    let a = tenant(&*store, "a").await;
    tenant(&*store, "b").await;
    assert_eq!(
        store.program_settings(a).await.unwrap(),
        ProgramSettings::default()
    );
    let mut changed = ProgramSettings {
        redemption_factor: "0.25".parse().unwrap(),
        high_security: false,
        ..ProgramSettings::default()
    };
    changed.event_rewards.insert("review".into(), 5);
    store
        .set_tenant_settings("a", changed.clone())
        .await
        .unwrap();
    assert_eq!(store.tenant_settings("a").await.unwrap(), changed);
    assert_eq!(store.program_settings(a).await.unwrap(), changed);
    assert_eq!(
        store.tenant_settings("b").await.unwrap(),
        ProgramSettings::default()
    );
    assert!(
        !store
            .tenant_by_apikey("key-a")
            .await
            .unwrap()
            .unwrap()
            .high_security,
        "auth sees highSecurity"
    );
    assert!(matches!(
        store.tenant_settings("ghost").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_tenant_settings("ghost", changed).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn movements_are_kept_and_holds_are_found_by_reference(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let other = tenant(&*store, "b").await;
    let at = "2025-01-01T00:00:00Z";
    let earned = store
        .apply_single(t, item(transactions::parse_cashback, json!({"customerId": "c", "transactionId": "t1", "transactionTime": at, "amount": 100})), now())
        .await
        .unwrap();
    assert!(matches!(
        earned.result,
        Ok(Success::Cashback {
            reward_equivalent_points: 100,
            ..
        })
    ));
    let held = store
        .apply_single(
            t,
            item(
                transactions::parse_hold,
                json!({"customerId": "c", "transactionTime": at, "pointsToHold": 30}),
            ),
            now(),
        )
        .await
        .unwrap();
    let Ok(Success::Held { hold_reference, .. }) = held.result else {
        panic!("{held:?}")
    };
    let hold = store
        .hold(t, &hold_reference, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (hold.customer_id.as_str(), hold.points, hold.state),
        ("c", 30, HoldState::Active)
    );
    assert!(
        store
            .hold(other, &hold_reference, now())
            .await
            .unwrap()
            .is_none(),
        "holds are per tenant"
    );
    let later = add(now(), Duration::from_secs(11 * 60));
    assert_eq!(
        store
            .hold(t, &hold_reference, later)
            .await
            .unwrap()
            .unwrap()
            .state,
        HoldState::Expired
    );

    // The same transaction id again: refused, and nothing recorded.
    let again = store
        .apply_single(t, item(transactions::parse_redeem, json!({"customerId": "c", "transactionId": "t1", "transactionTime": at, "points": 1})), now())
        .await
        .unwrap();
    assert_eq!(
        again.result.unwrap_err().code,
        ErrorCode::DuplicateTransaction
    );
    let spent = store
        .apply_single(t, item(transactions::parse_redeem, json!({"customerId": "c", "transactionId": "r1", "transactionTime": at, "holdReference": hold_reference})), now())
        .await
        .unwrap();
    assert!(spent.is_success(), "{spent:?}");
    assert_eq!(
        store
            .hold(t, &hold_reference, now())
            .await
            .unwrap()
            .unwrap()
            .state,
        HoldState::Used
    );

    let movements = store.movements(t, "c").await.unwrap();
    let kinds: Vec<&str> = movements.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["cashback", "hold", "redemption"]);
    assert_eq!(movements[0].amount, Some("100".parse().unwrap()));
    assert_eq!(movements[0].transaction_id.as_deref(), Some("t1"));
    let stored = store.customer(t, "c").await.unwrap().unwrap().record.ledger;
    let replayed =
        domain::ledger::Ledger::replay(movements.iter().map(|m| (m.id, m.created_at, &m.entry)));
    let instant = to_millis(now());
    assert_eq!(replayed.balance(instant), stored.balance(instant));
    assert_eq!(stored.balance(instant).available, 70);
    assert!(store.movements(other, "c").await.unwrap().is_empty());
}

/// `updatedAt` is the profile's last change: points moving do not touch the customer.
pub async fn a_movement_leaves_the_customer_profile_and_updated_at_alone(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let at = "2025-01-01T00:00:00Z";
    let cashback = |tx: &str| {
        item(
            transactions::parse_cashback,
            json!({"customerId": "c", "transactionId": tx, "transactionTime": at, "amount": 100}),
        )
    };
    let first = now();
    store.apply_single(t, cashback("t1"), first).await.unwrap();
    let created = store.customer(t, "c").await.unwrap().unwrap();
    assert_eq!(created.updated_at, first);
    let later = first + time::Duration::minutes(1);
    let earned = store.apply_single(t, cashback("t2"), later).await.unwrap();
    assert!(earned.result.is_ok(), "{earned:?}");
    let after = store.customer(t, "c").await.unwrap().unwrap();
    assert_eq!(after.updated_at, first);
    assert_eq!(after.record.profile, created.record.profile);
    assert_eq!(after.record.ledger.balance(to_millis(later)).earned, 200);
}
