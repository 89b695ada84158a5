//! A poison item fails alone: whatever panics or errors inside a chunk is traced to its item by splitting the chunk, that item fails with 5000, every other item applies and no worker dies.

use async_trait::async_trait;
use domain::settings::ProgramSettings;
use domain::{ChunkItems, Outcome};
use loyalbatch_engine::{Engine, EngineConfig, Shutdown};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use store::*;
use store_sqlite::SqliteStore;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

/// How the wrapped store misbehaves on a chunk holding customer `poison`.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    Panic,
    Error,
    /// The database is unreachable for the first `n` chunk commits (and pings).
    Outage(u32),
    /// The database answers pings but has no connection free for the first
    /// `n` chunk commits (a busy pool: `Unavailable`).
    Busy(u32),
}

struct Faulty {
    inner: Arc<dyn Store>,
    fault: Fault,
    calls: AtomicU32,
}

impl Faulty {
    fn down(&self) -> bool {
        match self.fault {
            Fault::Outage(n) => self.calls.load(Ordering::SeqCst) < n,
            _ => false,
        }
    }
}

fn poisoned(items: &ChunkItems) -> bool {
    items
        .customer_ids()
        .iter()
        .any(|(id, _)| id.as_str() == "poison")
}

fn outage() -> StoreError {
    StoreError::other(std::io::Error::other("connection refused"))
}

#[path = "poison/faulty_store.rs"]
mod faulty_store;

struct Setup {
    store: Arc<dyn Store>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

async fn setup(fault: Fault) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("p.db")).unwrap());
    let tenant = test_support::fixtures::tenant(&*inner, "t").await;
    let store: Arc<dyn Store> = Arc::new(Faulty {
        inner,
        fault,
        calls: AtomicU32::new(0),
    });
    Setup {
        store,
        tenant,
        _dir: dir,
    }
}

/// An events job of `items` customers `c<i>`, with customer `poison` at the given indexes.
async fn submit(s: &Setup, items: usize, poison_at: &[usize]) -> JobId {
    let texts: Vec<String> = (0..items)
        .map(|i| {
            let id = if poison_at.contains(&i) {
                "poison".to_owned()
            } else {
                format!("c{i}")
            };
            format!(r#"{{"customerId":"{id}","events":{{"e":{{}}}}}}"#)
        })
        .collect();
    test_support::fixtures::job(&*s.store, s.tenant, BatchType::Events, &texts).await
}

fn config() -> EngineConfig {
    EngineConfig {
        workers: 2,
        chunk_size: 100,
        poll_interval: Duration::from_millis(5),
        ..EngineConfig::default()
    }
}

async fn finished(s: &Setup, job: JobId) -> (JobRecord, Value) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (record, results) = s
            .store
            .job_with_results(s.tenant, job)
            .await
            .unwrap()
            .unwrap();
        if record.state.is_final() {
            let failed = domain::outcome::join_fragments(results.iter().map(|r| r.failed.as_str()));
            return (record, serde_json::from_str(&failed).unwrap());
        }
        assert!(Instant::now() < deadline, "job never finished: {record:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn customers_exist(s: &Setup, n: usize, except: &[usize]) {
    for i in (0..n).filter(|i| !except.contains(i)) {
        assert!(
            s.store
                .customer(s.tenant, &format!("c{i}"))
                .await
                .unwrap()
                .is_some(),
            "item {i} was applied"
        );
    }
    assert!(
        s.store
            .customer(s.tenant, "poison")
            .await
            .unwrap()
            .is_none()
    );
}

fn assert_isolated(failed: &Value, poison_at: &[usize]) {
    let failed = failed.as_array().unwrap();
    let indexes: Vec<u64> = failed
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = poison_at.iter().map(|i| *i as u64).collect();
    assert_eq!(indexes, expected, "only the poisoned items failed");
    for f in failed {
        assert_eq!(f["code"], 5000);
        assert_eq!(f["customerId"], "poison");
        let message = f["error"].as_str().unwrap();
        assert!(
            message.starts_with("internal error (see server log, requestId "),
            "{message}"
        );
        assert!(
            !message.contains("overflow") && !message.contains("byte sequence"),
            "no internals: {message}"
        );
    }
}

#[tokio::test]
async fn a_panicking_item_fails_alone_and_every_other_item_applies() {
    let s = setup(Fault::Panic).await;
    let poison_at = [0, 137, 138, 999];
    let job = submit(&s, 1000, &poison_at).await;
    let other = submit(&s, 250, &[]).await;
    let shutdown = Shutdown::new();
    let run = tokio::spawn(Engine::new(s.store.clone(), config()).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (996, 4));
    assert_isolated(&failed, &poison_at);
    customers_exist(&s, 1000, &poison_at).await;
    // The workers lived on: the next job ran too.
    let (other, _) = finished(&s, other).await;
    assert_eq!(
        (other.state, other.finished_count),
        (JobState::Completed, 250)
    );
    shutdown.cancel();
    run.await.unwrap();
}

#[tokio::test]
async fn an_item_that_keeps_erroring_fails_alone_once_retries_are_spent() {
    let s = setup(Fault::Error).await;
    let poison_at = [42];
    let job = submit(&s, 300, &poison_at).await;
    let shutdown = Shutdown::new();
    let run = tokio::spawn(Engine::new(s.store.clone(), config()).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (299, 1));
    assert_isolated(&failed, &poison_at);
    customers_exist(&s, 300, &poison_at).await;
    shutdown.cancel();
    run.await.unwrap();
}

#[tokio::test]
async fn an_outage_fails_no_item_the_job_waits_for_the_database() {
    let s = setup(Fault::Outage(6)).await;
    let job = submit(&s, 300, &[]).await;
    let shutdown = Shutdown::new();
    let run = tokio::spawn(Engine::new(s.store.clone(), config()).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (300, 0));
    assert_eq!(failed, serde_json::json!([]));
    shutdown.cancel();
    run.await.unwrap();
}

#[tokio::test]
async fn a_busy_database_fails_no_item_the_chunk_waits_for_a_connection() {
    // Enough refusals to narrow a chunk of 100 down to one item were they
    // taken for a poison item's: a busy pool (the database itself answers) is
    // waited out instead.
    let s = setup(Fault::Busy(40)).await;
    let job = submit(&s, 300, &[]).await;
    let shutdown = Shutdown::new();
    let config = EngineConfig {
        max_backoff: Duration::from_millis(50),
        ..config()
    };
    let run = tokio::spawn(Engine::new(s.store.clone(), config).run(shutdown.clone()));
    let (record, failed) = finished(&s, job).await;
    assert_eq!(record.state, JobState::Completed);
    assert_eq!((record.finished_count, record.error_count), (300, 0));
    assert_eq!(failed, serde_json::json!([]));
    shutdown.cancel();
    run.await.unwrap();
}
