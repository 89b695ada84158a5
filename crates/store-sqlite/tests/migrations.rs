//! Migrations correspond one to one with PostgreSQL's, and a database migrated under SQLite's old numbering is renumbered once, running nothing twice.

use loyalbatch_store_sqlite::SqliteStore;
use rusqlite::Connection;
use std::path::Path;
use store::prelude::*;

const NAMES: [&str; 12] = [
    "initial",
    "uncompressed_blocks",
    "ledger",
    "order_movements",
    "ledger_on_movements",
    "movements_by_tenant",
    "webhooks",
    "retried_jobs",
    "result_times",
    "endpoint_backoff",
    "ended_console_sessions",
    "config_generation",
];

fn history(path: &Path) -> Vec<(i32, String, String)> {
    let c = Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT version, name, checksum FROM refinery_schema_history ORDER BY version")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_migration_files_match_postgresql_one_to_one() {
    let names = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("migrations"), names("../store-postgres/migrations"));
}

#[tokio::test]
async fn a_database_with_the_old_numbering_is_renumbered_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let store = SqliteStore::open(&path).unwrap();
    test_support::fixtures::tenant(&store, "before").await;
    drop(store);
    let fresh = history(&path);
    let names: Vec<&str> = fresh.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(names, NAMES);

    // What a database migrated before the renumbering holds: no V2, the rest one
    // lower, and nothing written after the renumbering (V6 to V12 came later).
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP INDEX movements_by_tenant;
         DROP TABLE webhook_deliveries;
         DROP TABLE webhooks;
         ALTER TABLE jobs DROP COLUMN retried_as;
         ALTER TABLE job_results DROP COLUMN items;
         ALTER TABLE job_results DROP COLUMN committed_at;
         DROP TABLE ended_console_sessions;
         DROP TRIGGER tenants_changed;
         DROP TRIGGER tenants_removed;
         DROP TABLE config_generation;
         DELETE FROM refinery_schema_history WHERE version IN (6, 7, 8, 9, 10, 11, 12);
         DELETE FROM refinery_schema_history WHERE version = 2;
         UPDATE refinery_schema_history SET version = 2, checksum = 'old' WHERE version = 3;
         UPDATE refinery_schema_history SET version = 3, checksum = 'old' WHERE version = 4;
         UPDATE refinery_schema_history SET version = 4, checksum = 'old' WHERE version = 5;",
    )
    .unwrap();
    drop(c);
    let old: Vec<(i32, String)> = history(&path).into_iter().map(|(v, n, _)| (v, n)).collect();
    assert_eq!(old[1], (2, "ledger".to_owned()));

    // Opening it renumbers the history (no migration runs again: V5's ALTER would
    // fail) and then applies the migrations written since (V6 to V12).
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
    test_support::fixtures::tenant(&store, "after").await;
    drop(store);
    assert_eq!(
        history(&path),
        fresh,
        "the same versions, names and checksums as a fresh database"
    );
    // And once only.
    SqliteStore::open(&path).unwrap();
    assert_eq!(history(&path), fresh);
}
