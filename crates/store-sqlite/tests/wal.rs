//! The WAL gives its disk space back once a burst of writes is over.

use loyalbatch_store_sqlite::SqliteStore;
use std::time::{Duration, Instant};
use store::{NewJob, NewTenant, Store, segment_items};
use time::OffsetDateTime;
use wire::BatchType;

#[tokio::test]
async fn the_wal_is_truncated_when_the_writer_is_idle() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let store = SqliteStore::open(&db).unwrap();
    let tenant = store
        .create_tenant(
            NewTenant {
                name: "t".into(),
                apikey: "k".into(),
                secret_hash: "h".into(),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
        .id;
    let filler = "x".repeat(2000);
    let texts: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"customerId":"c{i}","pad":"{filler}"}}"#))
        .collect();
    for _ in 0..20 {
        store
            .create_job(NewJob {
                tenant_id: tenant,
                batch_type: BatchType::Customers,
                item_count: 1000,
                segments: segment_items(texts.iter().map(String::as_str)),
                idempotency: None,
                queue_limit: u64::MAX,
                now: OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
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
