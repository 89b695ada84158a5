//! One loyalbatch deployment in process, on a fresh database of the run's backend: the tenant, and one node or more (store, engine, HTTP server on 127.0.0.1:0 each).

use crate::api::Api;
use crate::backend::{Backend, Database};
use crate::serve::{Served, create_tenant};
use anyhow::Result;
use engine::EngineConfig;

pub struct Instance {
    nodes: Vec<Served>,
    apikey: String,
    secret: String,
    db: Database,
}

impl Instance {
    /// One node serving the API; the engine's workers wait until [`Instance::start_engine`].
    pub async fn start(backend: &Backend, config: EngineConfig) -> Result<Instance> {
        Instance::start_nodes(backend, 1, config).await
    }

    /// `nodes` nodes on one database, each with a store (its own pool) and an engine
    /// of its own, as separate servers would be; the tenant is created through the first.
    pub async fn start_nodes(
        backend: &Backend,
        nodes: usize,
        config: EngineConfig,
    ) -> Result<Instance> {
        let db = Database::create(backend).await?;
        let mut served = Vec::with_capacity(nodes);
        for _ in 0..nodes.max(1) {
            served.push(Served::start(db.open_store().await?, config.clone()).await?);
        }
        let (apikey, secret) = create_tenant(&*served[0].store).await?;
        Ok(Instance {
            nodes: served,
            apikey,
            secret,
            db,
        })
    }

    /// Starts every node's workers (once).
    pub fn start_engine(&mut self) {
        for node in &mut self.nodes {
            node.start_engine();
        }
    }

    /// A client of the first node, calling as the benchmark tenant.
    pub fn api(&self) -> Result<Api> {
        Api::new(&self.nodes[0].base_url(), &self.apikey, &self.secret)
    }

    /// The first node's API address and the tenant's keys (for a client in another process).
    pub fn server_and_keys(&self) -> (String, String, String) {
        let base = self.nodes[0].base_url();
        let server = base
            .strip_suffix(crate::serve::API_PATH)
            .unwrap_or(&base)
            .to_owned();
        (server, self.apikey.clone(), self.secret.clone())
    }

    /// A client of each node, in order.
    pub fn apis(&self) -> Result<Vec<Api>> {
        self.nodes
            .iter()
            .map(|node| Api::new(&node.base_url(), &self.apikey, &self.secret))
            .collect()
    }

    /// The first node's store.
    pub fn store(&self) -> std::sync::Arc<dyn store::Store> {
        self.nodes[0].store.clone()
    }

    /// A `SELECT count(*) …` read directly from the database.
    pub async fn count(&self, sql: &str) -> Result<usize> {
        self.db.count(sql).await
    }

    /// Customer rows in the database, counted directly.
    pub async fn customer_rows(&self) -> Result<usize> {
        self.db.customer_rows().await
    }

    /// Stops each node's workers (they finish their chunk), then its server; removes the database.
    pub async fn stop(self) -> Result<()> {
        for node in self.nodes {
            node.stop().await?;
        }
        self.db.remove().await
    }
}
