//! Throwaway databases for tests: each test creates one on the server `LOYALBATCH_TEST_POSTGRES_URL` names and drops it when done.

use tokio_postgres::{Config, NoTls};

/// The environment variable that turns the PostgreSQL tests on.
pub const TEST_URL_VAR: &str = "LOYALBATCH_TEST_POSTGRES_URL";

/// A database of its own for one test; dropped (with its connections) on drop.
pub struct TestDatabase {
    admin: Config,
    name: String,
    config: Config,
}

impl TestDatabase {
    /// `None` when `LOYALBATCH_TEST_POSTGRES_URL` is not set.
    pub async fn create() -> Option<TestDatabase> {
        let url = std::env::var(TEST_URL_VAR).ok()?;
        let admin: Config = url
            .parse()
            .unwrap_or_else(|e| panic!("{TEST_URL_VAR} is not a postgres:// URL: {e}"));
        let name = format!("loyalbatch_test_{:016x}", rand::random::<u64>());
        let (client, conn) = admin
            .connect(NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {TEST_URL_VAR} is not reachable: {e}"));
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE for a test");
        let mut config = admin.clone();
        config.dbname(&name);
        Some(TestDatabase {
            admin,
            name,
            config,
        })
    }

    /// Connection settings of the test's database.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A `postgres://` URL of the test's database (for processes started by a test).
    pub fn url(&self) -> String {
        let url = std::env::var(TEST_URL_VAR).unwrap_or_default();
        match url.rfind('/') {
            Some(slash) if slash > "postgres://".len() => {
                let (base, rest) = url.split_at(slash);
                let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
                format!("{base}/{}{query}", self.name)
            }
            _ => format!("{url}/{}", self.name),
        }
    }

    /// A client on the test's database, for assertions straight on the rows.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = self
            .config
            .connect(NoTls)
            .await
            .expect("test database reachable");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside any runtime: a small one of its own does the async work.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            rt.block_on(async move {
                let (client, conn) = admin.connect(NoTls).await?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}
