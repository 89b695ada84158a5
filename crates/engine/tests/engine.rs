//! Engine tests on a real SQLite store: heartbeats keep a lease, retention purges finished jobs, drain processes everything.

use loyalbatch_engine::{Engine, EngineConfig, Shutdown};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{JobFilter, Store};
use store_sqlite::SqliteStore;
use wire::{BatchType, JobState};

async fn setup(items: usize) -> (Arc<dyn Store>, i64, i64, tempfile::TempDir) {
    setup_typed(items, BatchType::Events).await
}

async fn setup_typed(
    items: usize,
    batch_type: BatchType,
) -> (Arc<dyn Store>, i64, i64, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("e.db")).unwrap());
    let tenant = test_support::fixtures::tenant(&*store, "t").await;
    let texts: Vec<String> = (0..items)
        .map(|i| format!(r#"{{"customerId":"c{i}","events":{{"e":{{}}}}}}"#))
        .collect();
    let job = test_support::fixtures::job(&*store, tenant, batch_type, &texts).await;
    (store, tenant, job, dir)
}

async fn wait_until_finished(store: &dyn Store, tenant: i64, job: i64) -> store::JobRecord {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let record = store.job(tenant, job).await.unwrap().unwrap();
        if record.state.is_final() {
            return record;
        }
        assert!(Instant::now() < deadline, "job never finished: {record:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_live_worker_keeps_the_lease_of_a_job_longer_than_the_lease() {
    let (store, tenant, job, dir) = setup(5000).await;
    let engine = Engine::new(
        store.clone(),
        EngineConfig {
            workers: 2,
            chunk_size: 1,
            lease: Duration::from_millis(500),
            poll_interval: Duration::from_millis(5),
            ..EngineConfig::default()
        },
    );
    let shutdown = Shutdown::new();
    let started = Instant::now();
    let run = tokio::spawn(engine.run(shutdown.clone()));
    let record = wait_until_finished(&*store, tenant, job).await;
    let took = started.elapsed();
    shutdown.cancel();
    run.await.unwrap();
    assert_eq!(
        (record.state, record.processed),
        (JobState::Completed, 5000)
    );
    let conn = rusqlite::Connection::open(dir.path().join("e.db")).unwrap();
    let token: i64 = conn
        .query_row("SELECT lease_token FROM jobs", [], |r| r.get(0))
        .unwrap();
    // The idle second worker polls every 5 ms: had a lease lapsed it would have taken the job over.
    assert_eq!(
        token, 1,
        "the job was never taken over (processing took {took:?})"
    );
    let events: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(events, 5000);
}

#[tokio::test]
async fn finished_jobs_are_purged_after_the_retention_period() {
    let (store, tenant, job, _dir) = setup(3).await;
    let engine = Engine::new(
        store.clone(),
        EngineConfig {
            retention: Duration::ZERO,
            purge_interval: Duration::from_millis(10),
            poll_interval: Duration::from_millis(5),
            ..EngineConfig::default()
        },
    );
    let shutdown = Shutdown::new();
    let run = tokio::spawn(engine.run(shutdown.clone()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.job(tenant, job).await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "the finished job was never purged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    run.await.unwrap();
    let left = store
        .list_jobs(
            tenant,
            &JobFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn drain_processes_every_runnable_job() {
    let (store, tenant, job, _dir) = setup(2500).await;
    let engine = Engine::new(
        store.clone(),
        EngineConfig {
            chunk_size: 1000,
            ..EngineConfig::default()
        },
    );
    assert_eq!(engine.drain().await.unwrap(), 1);
    let record = store.job(tenant, job).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.processed, record.finished_count),
        (JobState::Completed, 2500, 2500)
    );
    assert_eq!(engine.drain().await.unwrap(), 0);
}

#[tokio::test]
async fn items_that_fail_internally_fail_alone_with_5000() {
    let (store, tenant, job, dir) = setup(10).await;
    // Break the table the chunk writes to: every item fails, each alone.
    let conn = rusqlite::Connection::open(dir.path().join("e.db")).unwrap();
    conn.execute_batch("DROP TABLE events").unwrap();
    let engine = Engine::new(store.clone(), EngineConfig::default());
    engine.drain().await.unwrap();
    let (record, results) = store.job_with_results(tenant, job).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.processed, record.error_count),
        (JobState::Failed, 10, 10)
    );
    let failed: serde_json::Value = serde_json::from_str(&domain::outcome::join_fragments(
        results.iter().map(|r| r.failed.as_str()),
    ))
    .unwrap();
    for (i, f) in failed.as_array().unwrap().iter().enumerate() {
        assert_eq!(
            (f["index"].as_u64(), f["code"].as_u64()),
            (Some(i as u64), Some(5000))
        );
        assert_eq!(f["customerId"], format!("c{i}"));
        assert!(
            !f["error"].as_str().unwrap().contains("events"),
            "no internals"
        );
    }
}

#[tokio::test]
async fn a_job_whose_failures_cannot_be_recorded_fails_instead_of_holding_a_worker() {
    let (store, tenant, job, dir) = setup(10).await;
    // No chunk can commit, not even one recording an isolated item's failure.
    let conn = rusqlite::Connection::open(dir.path().join("e.db")).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER no_results BEFORE INSERT ON job_results \
         BEGIN SELECT RAISE(ABORT, 'the disk is on fire'); END;",
    )
    .unwrap();
    let engine = Engine::new(
        store.clone(),
        EngineConfig {
            chunk_attempts: 3,
            ..EngineConfig::default()
        },
    );
    engine.drain().await.unwrap();
    let record = store.job(tenant, job).await.unwrap().unwrap();
    assert_eq!((record.state, record.processed), (JobState::Failed, 0));
    let error = record.error.unwrap();
    assert!(
        error.starts_with("an internal error stopped the job at item 0"),
        "{error}"
    );
    assert!(
        !error.contains("fire"),
        "no internals in what the tenant sees: {error}"
    );
}
