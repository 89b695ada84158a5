//! The one place that picks the storage backend, from the database URL's scheme.

use anyhow::{Result, bail};
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// How a node uses its database (the `serve` flags; defaults elsewhere).
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Database connections this process keeps: PostgreSQL's pool (workers,
    /// requests, heartbeats), or SQLite's readers (reads at once).
    pub pool: usize,
    /// The longest a call waits for a free PostgreSQL connection (then 503).
    pub acquire_timeout: Duration,
    /// The longest a listing query may run (then it is cancelled).
    pub listing_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        let pg = store_postgres::PoolSettings::default();
        Tuning {
            pool: pg.max_connections,
            acquire_timeout: pg.acquire_timeout,
            listing_timeout: pg.listing_timeout,
        }
    }
}

pub async fn open(url: &str, tuning: &Tuning) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let url = url.to_owned();
        let listing_timeout = tuning.listing_timeout;
        let store = tokio::task::spawn_blocking(move || store_sqlite::SqliteStore::open_url(&url))
            .await??
            .with_listing_timeout(listing_timeout)
            .with_readers(tuning.pool);
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let settings = store_postgres::PoolSettings {
            max_connections: tuning.pool,
            acquire_timeout: tuning.acquire_timeout,
            listing_timeout: tuning.listing_timeout,
        };
        let store = store_postgres::PostgresStore::connect_tuned(url, settings).await?;
        return Ok(Arc::new(store));
    }
    bail!("unsupported database URL (expected sqlite://PATH or postgres://…)")
}
