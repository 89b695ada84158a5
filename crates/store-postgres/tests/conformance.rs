//! The store conformance suite on PostgreSQL (when `LOYALBATCH_TEST_POSTGRES_URL` is set): each test on a database of its own.

use loyalbatch_store_postgres::PostgresStore;
use std::sync::Arc;
use store::Store;
use test_support::postgres::TestDatabase;

async fn fresh_store() -> Option<(Arc<dyn Store>, TestDatabase)> {
    let db = TestDatabase::create().await?;
    let store = PostgresStore::connect_with(
        db.config().clone(),
        loyalbatch_store_postgres::PoolSettings {
            max_connections: 4,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Some((Arc::new(store), db))
}

test_support::conformance_tests!(fresh_store);
