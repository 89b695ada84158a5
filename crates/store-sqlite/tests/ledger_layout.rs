//! Where SQLite keeps a customer's ledger: on the customer's latest movement (migration V5; V4 before the renumbering),
//! with the customer row's own column as the fallback for ledgers written before it.

use domain::ChunkItems;
use domain::ledger::Ledger;
use domain::ledger::parse::{self as transactions, LedgerItem};
use loyalbatch_store_sqlite::SqliteStore;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::path::Path;
use store::prelude::*;
use store::{NewTenant, TenantId};
use time::OffsetDateTime;

const AT: &str = "2025-01-01T00:00:00Z";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn item(parse: fn(Value) -> domain::outcome::ParseResult<LedgerItem>, v: Value) -> ChunkItems {
    ChunkItems::single(parse(v).unwrap())
}

async fn tenant(store: &SqliteStore) -> TenantId {
    let tenant = NewTenant {
        name: "a".into(),
        apikey: "key-a".into(),
        secret_hash: "hash-a".into(),
    };
    store.create_tenant(tenant, now()).await.unwrap().id
}

async fn cashback(store: &SqliteStore, t: TenantId, tx: &str, amount: u32) {
    let body =
        json!({"customerId": "c", "transactionId": tx, "transactionTime": AT, "amount": amount});
    let outcome = store
        .apply_single(t, item(transactions::parse_cashback, body), now())
        .await
        .unwrap();
    assert!(outcome.result.is_ok(), "{outcome:?}");
}

async fn ledger(store: &SqliteStore, t: TenantId) -> Ledger {
    store.customer(t, "c").await.unwrap().unwrap().record.ledger
}

/// `(id, has a ledger)` of every movement, in id order.
fn movement_ledgers(path: &Path) -> Vec<(i64, bool)> {
    let c = Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT id, ledger IS NOT NULL FROM movements ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn a_ledger_change_appends_to_movements_and_leaves_the_customer_row_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = SqliteStore::open(&path).unwrap();
    let t = tenant(&store).await;
    cashback(&store, t, "t1", 100).await;
    let created = store.customer(t, "c").await.unwrap().unwrap();
    cashback(&store, t, "t2", 50).await;

    let after = store.customer(t, "c").await.unwrap().unwrap();
    assert_eq!(
        after.updated_at, created.updated_at,
        "the row was not rewritten"
    );
    assert_eq!(after.record.profile, created.record.profile);
    let row: String = Connection::open(&path)
        .unwrap()
        .query_row("SELECT ledger FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        row, "{}",
        "the row's ledger column is only the pre-V5 fallback"
    );
    assert_eq!(after.record.ledger.balance(i64::MAX / 2).earned, 150);

    // One item recording two movements (an order that uses a hold): only the
    // later one carries the ledger, and it is the one read back.
    let held = store
        .apply_single(
            t,
            item(
                transactions::parse_hold,
                json!({"customerId": "c", "transactionTime": AT, "pointsToHold": 30}),
            ),
            now(),
        )
        .await
        .unwrap();
    let Ok(domain::Success::Held { hold_reference, .. }) = held.result else {
        panic!("{held:?}");
    };
    let order = json!({"customerId": "c", "orderId": "o1", "orderDate": AT, "totalPaid": 10,
        "redemption": {"pointsHoldReference": hold_reference}});
    let ordered = store
        .apply_single(t, item(transactions::parse_order, order), now())
        .await
        .unwrap();
    assert!(ordered.result.is_ok(), "{ordered:?}");
    let carried = movement_ledgers(&path);
    let flags: Vec<bool> = carried.iter().map(|(_, has)| *has).collect();
    assert_eq!(flags, [true, true, true, false, true], "{carried:?}");

    let stored = ledger(&store, t).await;
    let movements = store.movements(t, "c").await.unwrap();
    let replayed = Ledger::replay(
        movements
            .iter()
            .map(|m| (m.id, m.transaction_time, &m.entry)),
    );
    assert_eq!(stored, replayed);
    assert_eq!(stored.balance(i64::MAX / 2).earned, 160);
}

#[tokio::test]
async fn ledgers_written_before_v5_are_read_from_the_customer_row_until_the_next_movement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store = SqliteStore::open(&path).unwrap();
    let t = tenant(&store).await;
    cashback(&store, t, "t1", 100).await;
    let before = ledger(&store, t).await;
    drop(store);

    // What a database migrated from V3 looks like: the ledger on the row, none on movements.
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "UPDATE customers SET ledger = (SELECT ledger FROM movements ORDER BY id DESC LIMIT 1);
         UPDATE movements SET ledger = NULL;",
    )
    .unwrap();
    drop(c);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(ledger(&store, t).await, before);
    cashback(&store, t, "t2", 50).await;
    let after = ledger(&store, t).await;
    assert_eq!(
        after.balance(i64::MAX / 2).earned,
        150,
        "built on the row's ledger"
    );
    assert_eq!(movement_ledgers(&path), [(1, false), (2, true)]);
}
