//! LISTEN/NOTIFY: a job created through one node wakes the idle workers of another.

use loyalbatch_store_postgres::PostgresStore;
use std::time::{Duration, Instant};
use store::prelude::*;
use store::{NewJob, segment_items};
use test_support::postgres::TestDatabase;
use time::OffsetDateTime;
use wire::BatchType;

#[tokio::test]
async fn a_job_created_on_one_node_wakes_another() {
    let Some(db) = TestDatabase::create().await else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: set LOYALBATCH_TEST_POSTGRES_URL"
        );
        return;
    };
    let a = PostgresStore::connect_with(
        db.config().clone(),
        loyalbatch_store_postgres::PoolSettings {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let b = PostgresStore::connect_with(
        db.config().clone(),
        loyalbatch_store_postgres::PoolSettings {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let tenant = test_support::fixtures::tenant(&a, "t").await;
    let wakeups = b.job_wakeups().expect("PostgreSQL nodes listen for jobs");
    let item = [r#"{"customerId":"c"}"#];
    let deadline = Instant::now() + Duration::from_secs(20);
    // B's listener may still be connecting: each round arms the wait, then creates a job.
    loop {
        let woken = wakeups.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        a.create_job(NewJob {
            tenant_id: tenant,
            batch_type: BatchType::Customers,
            item_count: 1,
            segments: segment_items(item),
            idempotency: None,
            queue_limit: u64::MAX,
            now: OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
        if tokio::time::timeout(Duration::from_millis(500), woken)
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node B was never told about a new job"
        );
    }
}
