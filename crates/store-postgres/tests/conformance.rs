//! The store conformance suite on PostgreSQL (when `LOYALBATCH_TEST_POSTGRES_URL` is set): each test on a database of its own.

use loyalbatch_store_postgres::PostgresStore;
use std::sync::Arc;
use store::Store;
use tokio_postgres::NoTls;

/// Drops the test's database when the test ends.
struct TestDatabase {
    admin: tokio_postgres::Config,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside any runtime: a small one of its own does the async work.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (client, conn) = admin.connect(NoTls).await.unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .unwrap();
            })
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn fresh_store() -> Option<(Arc<dyn Store>, TestDatabase)> {
    let url = std::env::var("LOYALBATCH_TEST_POSTGRES_URL").ok()?;
    let admin: tokio_postgres::Config = url
        .parse()
        .expect("LOYALBATCH_TEST_POSTGRES_URL is a postgres:// URL");
    let name = format!("loyalbatch_test_{:016x}", rand::random::<u64>());
    let (client, conn) = admin.connect(NoTls).await.expect("PostgreSQL reachable");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let guard = TestDatabase {
        admin: admin.clone(),
        name: name.clone(),
    };
    let mut config = admin;
    config.dbname(&name);
    let store = PostgresStore::connect_with(config, 4).await.unwrap();
    Some((Arc::new(store), guard))
}

store::conformance_tests!(fresh_store);
