//! The one place that picks the storage backend, from the database URL's scheme.

use anyhow::{Result, bail};
use std::sync::Arc;
use store::Store;

/// Connections each process keeps to PostgreSQL (workers, requests, heartbeats).
const POSTGRES_POOL: usize = 16;

pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let url = url.to_owned();
        let store = tokio::task::spawn_blocking(move || store_sqlite::SqliteStore::open_url(&url))
            .await??;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = store_postgres::PostgresStore::connect(url, POSTGRES_POOL).await?;
        return Ok(Arc::new(store));
    }
    bail!("unsupported database URL (expected sqlite://PATH or postgres://…)")
}
