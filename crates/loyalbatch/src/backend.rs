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

/// Replaces the database at `url` with a backup file (SQLite); PostgreSQL
/// names its own tools. Refused while anything has the database open.
pub async fn restore(url: &str, file: &std::path::Path) -> Result<store_sqlite::Restored> {
    if url.starts_with("sqlite:") {
        let Some(db) = store_sqlite::path_from_url(url) else {
            bail!("not a sqlite:// database URL: {url}");
        };
        let file = file.to_path_buf();
        return match tokio::task::spawn_blocking(move || store_sqlite::restore(&file, &db)).await? {
            Ok(restored) => Ok(restored),
            // Refusals are sentences for the operator, not internal errors.
            Err(store::StoreError::Conflict(why)) => bail!("{why}"),
            Err(e) => Err(e.into()),
        };
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        bail!("{}", store_postgres::POSTGRES_BACKUPS);
    }
    bail!("unsupported database URL (expected sqlite://PATH or postgres://…)")
}
