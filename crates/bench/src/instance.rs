//! One in-process loyalbatch on a fresh temporary SQLite database: store, tenant, engine and HTTP server on 127.0.0.1:0.

use crate::api::Api;
use crate::serve::{Served, create_tenant};
use anyhow::{Context, Result};
use engine::EngineConfig;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A fresh temporary directory for one database (removed when dropped).
pub fn temp_dir() -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("loyalbatch-bench-")
        .tempdir()
        .context("creating a temporary directory")
}

/// Customer rows in the database at `db`, counted directly.
pub fn customer_rows(db: &Path) -> Result<usize> {
    let conn = rusqlite::Connection::open(db)?;
    let rows: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
    Ok(usize::try_from(rows)?)
}

pub struct Instance {
    served: Served,
    apikey: String,
    secret: String,
    db_path: PathBuf,
    _dir: TempDir,
}

impl Instance {
    /// Serves the API; the engine's workers wait until [`Instance::start_engine`].
    pub async fn start(config: EngineConfig) -> Result<Instance> {
        let dir = temp_dir()?;
        let db_path = dir.path().join("loyalbatch.db");
        let served = Served::start(&db_path, config).await?;
        let (apikey, secret) = create_tenant(&*served.store).await?;
        Ok(Instance {
            served,
            apikey,
            secret,
            db_path,
            _dir: dir,
        })
    }

    /// Starts the engine's workers (once).
    pub fn start_engine(&mut self) {
        self.served.start_engine();
    }

    /// A client for this instance, calling as the benchmark tenant.
    pub fn api(&self) -> Result<Api> {
        Api::new(&self.served.base_url(), &self.apikey, &self.secret)
    }

    /// Customer rows in the database, counted directly.
    pub fn customer_rows(&self) -> Result<usize> {
        customer_rows(&self.db_path)
    }

    /// Stops the workers (they finish their chunk), then the server.
    pub async fn stop(self) -> Result<()> {
        self.served.stop().await
    }
}
