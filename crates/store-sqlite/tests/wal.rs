//! The WAL gives its disk space back once a burst of writes is over.

use loyalbatch_store_sqlite::SqliteStore;
use std::time::{Duration, Instant};
use store::prelude::*;
use wire::BatchType;

#[tokio::test]
async fn the_wal_is_truncated_when_the_writer_is_idle() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let store = SqliteStore::open(&db).unwrap();
    let tenant = test_support::fixtures::tenant(&store, "t").await;
    let filler = "x".repeat(2000);
    let texts: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"customerId":"c{i}","pad":"{filler}"}}"#))
        .collect();
    for _ in 0..20 {
        test_support::fixtures::job(&store, tenant, BatchType::Customers, &texts).await;
    }
    let wal = dir.path().join("w.db-wal");
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(size() > 0, "the burst went through the WAL");
    let deadline = Instant::now() + Duration::from_secs(30);
    while size() > 0 {
        assert!(Instant::now() < deadline, "the WAL kept {} bytes", size());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The store still works after the truncation.
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}
