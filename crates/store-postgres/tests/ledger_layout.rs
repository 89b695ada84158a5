//! Where PostgreSQL keeps a customer's ledger: on the customer's latest movement
//! (migration V5, as on SQLite), with the customer row's own column as
//! the fallback for ledgers written before it.

use domain::ChunkItems;
use domain::ledger::Ledger;
use domain::ledger::parse::{self as transactions, LedgerItem};
use loyalbatch_store_postgres::PostgresStore;
use serde_json::{Value, json};
use store::TenantId;
use store::prelude::*;
use test_support::postgres::TestDatabase;
use time::OffsetDateTime;

const AT: &str = "2025-01-01T00:00:00Z";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn item(parse: fn(Value) -> domain::outcome::ParseResult<LedgerItem>, v: Value) -> ChunkItems {
    ChunkItems::single(parse(v).unwrap())
}

async fn setup() -> Option<(PostgresStore, TestDatabase, TenantId)> {
    let Some(db) = TestDatabase::create().await else {
        eprintln!("skipped a PostgreSQL layout test: set LOYALBATCH_TEST_POSTGRES_URL");
        return None;
    };
    let store = PostgresStore::connect_with(
        db.config().clone(),
        loyalbatch_store_postgres::PoolSettings {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let t = test_support::fixtures::tenant(&store, "a").await;
    Some((store, db, t))
}

async fn cashback(store: &PostgresStore, t: TenantId, tx: &str, amount: u32) {
    let body =
        json!({"customerId": "c", "transactionId": tx, "transactionTime": AT, "amount": amount});
    let outcome = store
        .apply_single(t, item(transactions::parse_cashback, body), now())
        .await
        .unwrap();
    assert!(outcome.result.is_ok(), "{outcome:?}");
}

async fn ledger(store: &PostgresStore, t: TenantId) -> Ledger {
    store.customer(t, "c").await.unwrap().unwrap().record.ledger
}

/// `(id, has a ledger)` of every movement, in id order.
async fn movement_ledgers(db: &TestDatabase) -> Vec<(i64, bool)> {
    db.client()
        .await
        .query(
            "SELECT id, ledger IS NOT NULL FROM movements ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn a_ledger_change_appends_to_movements_and_leaves_the_customer_row_alone() {
    let Some((store, db, t)) = setup().await else {
        return;
    };
    cashback(&store, t, "t1", 100).await;
    let created = store.customer(t, "c").await.unwrap().unwrap();
    cashback(&store, t, "t2", 50).await;
    let after = store.customer(t, "c").await.unwrap().unwrap();
    assert_eq!(
        after.updated_at, created.updated_at,
        "the row was not rewritten"
    );
    let row: String = db
        .client()
        .await
        .query_one("SELECT ledger FROM customers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        row, "{}",
        "the row's ledger column is only the pre-V5 fallback"
    );
    assert_eq!(after.record.ledger.balance(i64::MAX / 2).earned, 150);
    assert_eq!(
        movement_ledgers(&db)
            .await
            .iter()
            .filter(|(_, has)| *has)
            .count(),
        2
    );
    let movements = store.movements(t, "c").await.unwrap();
    let replayed = Ledger::replay(
        movements
            .iter()
            .map(|m| (m.id, m.transaction_time, &m.entry)),
    );
    assert_eq!(ledger(&store, t).await, replayed);
}

#[tokio::test]
async fn ledgers_written_before_v5_are_read_from_the_customer_row_until_the_next_movement() {
    let Some((store, db, t)) = setup().await else {
        return;
    };
    cashback(&store, t, "t1", 100).await;
    let before = ledger(&store, t).await;
    // What a database migrated from V4 looks like: the ledger on the row, none on movements.
    db.client()
        .await
        .batch_execute(
            "UPDATE customers SET ledger = (SELECT ledger FROM movements ORDER BY id DESC LIMIT 1);
             UPDATE movements SET ledger = NULL;",
        )
        .await
        .unwrap();
    assert_eq!(ledger(&store, t).await, before);
    cashback(&store, t, "t2", 50).await;
    assert_eq!(
        ledger(&store, t).await.balance(i64::MAX / 2).earned,
        150,
        "built on the row's ledger"
    );
    let flags: Vec<bool> = movement_ledgers(&db)
        .await
        .iter()
        .map(|(_, has)| *has)
        .collect();
    assert_eq!(flags, [false, true]);
}
