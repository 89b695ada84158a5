//! The store conformance suite on SQLite: every behaviour, each on its own database file.

use loyalbatch_store_sqlite::SqliteStore;
use std::sync::Arc;
use store::Store;

async fn fresh_store() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("test.db")).unwrap();
    Some((Arc::new(store), dir))
}

test_support::conformance_tests!(fresh_store);
