//! The group-commit writer: operations that share a transaction still succeed or fail alone.

use futures::future::join_all;
use loyalbatch_store_sqlite::SqliteStore;
use std::sync::Arc;
use store::prelude::*;
use store::{NewTenant, Store, StoreError};
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_fail_alone_and_the_rest_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("w.db")).unwrap());
    // 200 creations of 50 distinct names, all at once: they land in shared groups.
    let attempts = (0..200).map(|i| {
        let store = store.clone();
        async move {
            let name = format!("t{}", i % 50);
            let tenant = NewTenant {
                name,
                apikey: format!("key-{i}"),
                secret_hash: "h".into(),
            };
            store.create_tenant(tenant, OffsetDateTime::now_utc()).await
        }
    });
    let results = join_all(attempts).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
        .count();
    assert_eq!((created, conflicts), (50, 150));
    assert_eq!(store.list_tenants().await.unwrap().len(), 50);
    // A reopened store sees exactly what was answered as committed.
    drop(store);
    let reopened = SqliteStore::open(dir.path().join("w.db")).unwrap();
    assert_eq!(reopened.list_tenants().await.unwrap().len(), 50);
}
