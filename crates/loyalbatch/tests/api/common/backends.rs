//! Which backend a test runs on, and direct access to its database for assertions.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use store::Store;
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;
use test_support::postgres::TestDatabase;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static CURRENT: Backend;
}

impl Backend {
    /// The backend of the running test (SQLite unless `run_on` says otherwise).
    pub fn current() -> Backend {
        CURRENT.try_with(|b| *b).unwrap_or(Backend::Sqlite)
    }
}

/// Runs a test body on `backend`; on PostgreSQL only when it is configured.
pub async fn run_on(backend: Backend, test: impl Future<Output = ()>) {
    if backend == Backend::Postgres && std::env::var(test_support::postgres::TEST_URL_VAR).is_err()
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped a PostgreSQL API test: set {}",
            test_support::postgres::TEST_URL_VAR
        );
        return;
    }
    CURRENT.scope(backend, test).await;
}

/// The test's own database.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres(Box<TestDatabase>),
}

impl TestDb {
    /// A database whose PostgreSQL store uses `pool` (the defaults, 8 connections, when `None`).
    pub async fn create_with(
        backend: Backend,
        pool: Option<store_postgres::PoolSettings>,
    ) -> (Arc<dyn Store>, TestDb) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("api.db");
                let store = SqliteStore::open(&path).unwrap();
                (Arc::new(store), TestDb::Sqlite { _dir: dir, path })
            }
            Backend::Postgres => {
                let db = TestDatabase::create()
                    .await
                    .expect("PostgreSQL is configured");
                let pool = pool.unwrap_or(store_postgres::PoolSettings {
                    max_connections: 8,
                    ..Default::default()
                });
                let store = PostgresStore::connect_with(db.config().clone(), pool)
                    .await
                    .unwrap();
                (Arc::new(store), TestDb::Postgres(Box::new(db)))
            }
        }
    }

    /// The first column of the first row, as a number.
    pub async fn query_i64(&self, sql: &str) -> i64 {
        match self {
            TestDb::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            TestDb::Postgres(db) => db.client().await.query_one(sql, &[]).await.unwrap().get(0),
        }
    }

    /// The first column of the first row, as text.
    pub async fn query_text(&self, sql: &str) -> String {
        match self {
            TestDb::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            TestDb::Postgres(db) => db.client().await.query_one(sql, &[]).await.unwrap().get(0),
        }
    }

    /// Runs statements behind the server's back (to set up or break things).
    pub async fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite { path, .. } => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap();
            }
            TestDb::Postgres(db) => db.client().await.batch_execute(sql).await.unwrap(),
        }
    }

    /// The SQLite file, for SQLite-only tests.
    pub fn sqlite_path(&self) -> Option<&PathBuf> {
        match self {
            TestDb::Sqlite { path, .. } => Some(path),
            TestDb::Postgres(_) => None,
        }
    }
}

/// Turns `async fn name()` test bodies into one `#[tokio::test]` per backend:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::common::run_on($crate::common::Backend::Sqlite, super::$name()).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::common::run_on($crate::common::Backend::Postgres, super::$name()).await
                }
            )+
        }
    };
}
