//! Online backups and restores of the database file: consistent while jobs are
//! written, written whole or not at all, and never restored over a database in use.

use loyalbatch_store_sqlite::{SqliteStore, partial_name, restore, verify};
use std::time::Duration;
use store::prelude::*;
use store::{StoreError, segment_items};
use time::OffsetDateTime;
use wire::BatchType;

fn texts(n: usize, tag: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"customerId":"{tag}-{i}"}}"#))
        .collect()
}

/// Every job in the file has all of its items: none is half-written.
fn jobs_whole(file: &std::path::Path) -> Vec<(i64, i64)> {
    let c = rusqlite::Connection::open(file).unwrap();
    let mut st = c
        .prepare("SELECT id, item_count FROM jobs ORDER BY id")
        .unwrap();
    let jobs: Vec<(i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, count) in &jobs {
        let segments: i64 = c
            .query_row(
                "SELECT count(*) FROM job_items WHERE job_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert!(segments > 0 && *count == 300, "job {id}: {count} items");
    }
    jobs
}

#[tokio::test]
async fn backups_taken_while_jobs_are_written_each_hold_whole_jobs_up_to_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("live.db")).unwrap();
    let tenant = test_support::fixtures::tenant(&store, "t").await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for j in 0..60 {
                let items = texts(300, &format!("j{j}"));
                test_support::fixtures::job(&store, tenant, BatchType::Customers, &items).await;
            }
        })
    };
    let mut seen = Vec::new();
    for b in 0..8 {
        let to = dir.path().join(format!("b{b}.db"));
        let contents = store.backup(&to).await.unwrap();
        assert!(!partial_name(&to).exists(), "no partial file is left");
        assert_eq!(
            verify(&to).unwrap(),
            contents,
            "what it says is in the file"
        );
        assert_eq!(contents.tenants, 1);
        assert!(contents.schema_version >= 12, "{contents:?}");
        let jobs = jobs_whole(&to);
        assert_eq!(jobs.len() as i64, contents.jobs);
        // Each backup is one commit of a growing history: job ids 1..=n.
        assert!(
            jobs.iter()
                .enumerate()
                .all(|(i, (id, _))| *id == i as i64 + 1)
        );
        seen.push(contents.jobs);
    }
    writer.await.unwrap();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let last = dir.path().join("last.db");
    assert_eq!(store.backup(&last).await.unwrap().jobs, 60);

    // A backup never overwrites a file, and a failed one leaves nothing.
    let refused = store.backup(&last).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        verify(&last).unwrap().jobs,
        60,
        "the file was left as it was"
    );
    let nowhere = dir.path().join("missing-dir").join("b.db");
    assert!(store.backup(&nowhere).await.is_err());
    assert!(!nowhere.exists() && !partial_name(&nowhere).exists());
}

#[tokio::test]
async fn a_restore_refuses_a_database_in_use_and_otherwise_replaces_it_keeping_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lb.db");
    let backup = dir.path().join("backup.db");
    let store = SqliteStore::open(&db).unwrap();
    let tenant = test_support::fixtures::tenant(&store, "a").await;
    let job = store
        .create_job(store::NewJob {
            tenant_id: tenant,
            batch_type: BatchType::Customers,
            item_count: 10,
            segments: segment_items(texts(10, "x").iter().map(String::as_str)),
            idempotency: None,
            queue_limit: u64::MAX,
            now: OffsetDateTime::now_utc(),
        })
        .await
        .unwrap()
        .job_id();
    // Running under a lease an hour long at the snapshot.
    let claim = store
        .claim_job(OffsetDateTime::now_utc(), Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.fence.job_id, job);
    let contents = store.backup(&backup).await.unwrap();
    assert_eq!((contents.jobs, contents.unfinished_jobs), (1, 1));
    test_support::fixtures::tenant(&store, "after-the-backup").await;

    let refused = restore(&backup, &db);
    assert!(
        matches!(&refused, Err(StoreError::Conflict(why)) if why.contains("in use")),
        "{refused:?}"
    );
    assert_eq!(store.list_tenants().await.unwrap().len(), 2, "untouched");
    drop(store);

    let restored = restore(&backup, &db).unwrap();
    assert_eq!(restored.contents, contents);
    let replaced = restored.replaced.expect("the old database is kept");
    assert_eq!(
        verify(&replaced).unwrap().tenants,
        2,
        "whole, WAL folded in"
    );
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
    // The job running at the snapshot is given back: claimable at once, where it was.
    let again = store
        .claim_job(OffsetDateTime::now_utc(), Duration::from_secs(30))
        .await
        .unwrap()
        .expect("resumable now, not after the old lease");
    assert_eq!(again.fence.job_id, job);
    assert_eq!(again.cursor, claim.cursor);
    assert!(again.fence.token > claim.fence.token, "a new fence");
}

#[tokio::test]
async fn what_is_not_a_whole_loyalbatch_backup_is_refused_and_nothing_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lb.db");
    let store = SqliteStore::open(&db).unwrap();
    test_support::fixtures::tenant(&store, "a").await;
    let good = dir.path().join("good.db");
    store.backup(&good).await.unwrap();
    drop(store);

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 64 * 1024]).unwrap();
    let truncated = dir.path().join("truncated.db");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    for bad in [&garbage, &truncated, &foreign] {
        let refused = restore(bad, &db);
        assert!(
            matches!(&refused, Err(StoreError::Conflict(why)) if why.contains("not a loyalbatch database backup")),
            "{}: {refused:?}",
            bad.display()
        );
    }
    assert_eq!(verify(&db).unwrap().tenants, 1, "the database is as it was");
    assert!(restore(&dir.path().join("absent.db"), &db).is_err());
}
