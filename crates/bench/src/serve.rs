//! The server as the benchmark runs it — a store, tenant, engine and HTTP on 127.0.0.1:0 — shared by the in-process instances and the `serve-child` process.

use anyhow::{Context, Result};
use app::keys;
use engine::{Engine, EngineConfig, Shutdown};
use server::{AppState, HttpSettings};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::{NewTenant, Store};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The per-tenant queue limit the benchmark runs with: high enough that admission
/// control never refuses a request, since throughput is what is measured.
const QUEUE_LIMIT: u64 = 1_000_000_000;

/// The name of the tenant the benchmark calls as.
const TENANT: &str = "bench";

/// The API's path below the server's address.
pub const API_PATH: &str = "/api/v4.0/integrations";

/// Creates the tenant the benchmark calls as on an empty database; returns its (apikey, secretkey).
pub async fn create_tenant(store: &dyn Store) -> Result<(String, String)> {
    let (apikey, secret) = keys::generate();
    let tenant = NewTenant {
        name: TENANT.into(),
        apikey: apikey.clone(),
        secret_hash: keys::hash_secret(&secret),
    };
    store
        .create_first_tenant(tenant, OffsetDateTime::now_utc())
        .await?;
    Ok((apikey, secret))
}

/// The benchmark tenant's keys: created on an empty database, else its secret is
/// replaced (only its hash is stored, so the old one cannot be shown again).
pub async fn tenant_keys(store: &dyn Store) -> Result<(String, String)> {
    let existing = store.list_tenants().await?;
    let Some(tenant) = existing.iter().find(|t| t.name == TENANT) else {
        anyhow::ensure!(
            existing.is_empty(),
            "the database has tenants but none named {TENANT:?}"
        );
        return create_tenant(store).await;
    };
    let (_, secret) = keys::generate();
    store
        .rotate_secret(TENANT, keys::hash_secret(&secret))
        .await?;
    Ok((tenant.apikey.clone(), secret))
}

/// A store, an engine (whose workers run only once asked) and the HTTP server.
pub struct Served {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    engine: Engine,
    engine_stop: Shutdown,
    engine_task: Option<JoinHandle<()>>,
    server_stop: Shutdown,
    server_task: JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Serves the API on `store` at 127.0.0.1:0; no worker runs yet.
    pub async fn start(store: Arc<dyn Store>, config: EngineConfig) -> Result<Served> {
        let engine = Engine::new(store.clone(), config);
        let app = app::App::new(
            store.clone(),
            &engine,
            app::Settings {
                queue_limit: QUEUE_LIMIT,
                ..app::Settings::default()
            },
        );
        let state = AppState::new(app, HttpSettings::default());
        // The console's pages too, as `serve` routes them.
        let pages = console::routes(console::State::new(&state, console::Settings::default()));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server_stop = Shutdown::new();
        let stop = server_stop.clone();
        let server_task = tokio::spawn(server::launch(listener, state, pages, async move {
            stop.cancelled().await
        }));
        Ok(Served {
            addr,
            store,
            engine,
            engine_stop: Shutdown::new(),
            engine_task: None,
            server_stop,
            server_task,
        })
    }

    /// The base URL of the API.
    pub fn base_url(&self) -> String {
        format!("http://{}{API_PATH}", self.addr)
    }

    /// Starts the engine's workers (once).
    pub fn start_engine(&mut self) {
        if self.engine_task.is_none() {
            let engine = self.engine.clone();
            self.engine_task = Some(tokio::spawn(engine.run(self.engine_stop.clone())));
        }
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
