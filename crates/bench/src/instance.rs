//! One in-process loyalbatch on a fresh temporary SQLite database: store, tenant, engine and HTTP server on 127.0.0.1:0.

use crate::api::Api;
use anyhow::{Context, Result};
use engine::{Engine, EngineConfig, Shutdown};
use server::{AppState, ServerSettings, keys};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::{NewTenant, Store};
use store_sqlite::SqliteStore;
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The per-tenant queue limit the benchmark runs with: high enough that admission
/// control never refuses a request, since throughput is what is measured.
const QUEUE_LIMIT: u64 = 1_000_000_000;

/// A fresh temporary directory for one database (removed when dropped).
pub fn temp_dir() -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("loyalbatch-bench-")
        .tempdir()
        .context("creating a temporary directory")
}

/// Creates the tenant the benchmark calls as; returns its (apikey, secretkey).
pub async fn create_tenant(store: &dyn Store) -> Result<(String, String)> {
    let (apikey, secret) = keys::generate();
    let tenant = NewTenant {
        name: "bench".into(),
        apikey: apikey.clone(),
        secret_hash: keys::hash_secret(&secret),
    };
    store
        .create_first_tenant(tenant, OffsetDateTime::now_utc())
        .await?;
    Ok((apikey, secret))
}

pub struct Instance {
    base_url: String,
    apikey: String,
    secret: String,
    db_path: PathBuf,
    engine: Engine,
    engine_stop: Shutdown,
    engine_task: Option<JoinHandle<()>>,
    server_stop: Shutdown,
    server_task: JoinHandle<std::io::Result<()>>,
    _dir: TempDir,
}

impl Instance {
    /// Serves the API; the engine's workers wait until [`Instance::start_engine`].
    pub async fn start(config: EngineConfig) -> Result<Instance> {
        let dir = temp_dir()?;
        let db_path = dir.path().join("loyalbatch.db");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db_path)?);
        let (apikey, secret) = create_tenant(&*store).await?;
        let engine = Engine::new(store.clone(), config);
        let state = AppState {
            store,
            waker: engine.waker(),
            settings: Arc::new(ServerSettings {
                queue_limit: QUEUE_LIMIT,
                ..ServerSettings::default()
            }),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server_stop = Shutdown::new();
        let stop = server_stop.clone();
        let server_task = tokio::spawn(server::launch(listener, state, async move {
            stop.cancelled().await
        }));
        Ok(Instance {
            base_url: format!("http://{addr}/api/v4.0/integrations"),
            apikey,
            secret,
            db_path,
            engine,
            engine_stop: Shutdown::new(),
            engine_task: None,
            server_stop,
            server_task,
            _dir: dir,
        })
    }

    /// Starts the engine's workers (once).
    pub fn start_engine(&mut self) {
        if self.engine_task.is_none() {
            let engine = self.engine.clone();
            self.engine_task = Some(tokio::spawn(engine.run(self.engine_stop.clone())));
        }
    }

    /// A client for this instance, calling as the benchmark tenant.
    pub fn api(&self) -> Result<Api> {
        Api::new(&self.base_url, &self.apikey, &self.secret)
    }

    /// Customer rows in the database, counted directly.
    pub fn customer_rows(&self) -> Result<usize> {
        let conn = rusqlite::Connection::open(&self.db_path)?;
        let rows: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
        Ok(usize::try_from(rows)?)
    }

    /// Stops the workers (they finish their chunk), then the server.
    pub async fn stop(self) -> Result<()> {
        self.engine_stop.cancel();
        if let Some(task) = self.engine_task {
            task.await.context("the engine panicked")?;
        }
        self.server_stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.server_task)
            .await
            .context("the server did not shut down within 10 s")?
            .context("the server panicked")?
            .context("the server failed")?;
        Ok(())
    }
}
