//! Which backend the run measures (`--database-url`), and each phase's fresh database on it: a temporary SQLite file or a throwaway PostgreSQL database.

use crate::pg;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::sync::Arc;
use store::Store;
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;
use tempfile::TempDir;

/// Connections each server keeps to PostgreSQL, as `loyalbatch serve` does.
const POSTGRES_POOL: usize = 16;

pub enum Backend {
    /// Temporary SQLite files (the default).
    Sqlite,
    /// Throwaway databases on the server `--database-url` names.
    Postgres(Box<pg::Server>),
}

impl Backend {
    /// The backend `--database-url` selects: SQLite without one.
    pub fn from_url(url: Option<&str>) -> Result<Backend> {
        match url {
            None => Ok(Backend::Sqlite),
            Some(url) if pg::is_postgres_url(url) => {
                Ok(Backend::Postgres(Box::new(pg::Server::parse(url)?)))
            }
            Some(_) => bail!(
                "--database-url takes a postgres:// URL (leave it out to benchmark SQLite on temporary files)"
            ),
        }
    }

    /// `sqlite` or `postgresql`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }
}

/// A fresh temporary directory for one database (removed when dropped).
pub fn temp_dir() -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("loyalbatch-bench-")
        .tempdir()
        .context("creating a temporary directory")
}

/// One phase's empty database; the schema is created by the first store opened on it.
pub enum Database {
    Sqlite { path: PathBuf, _dir: TempDir },
    Postgres(Box<pg::Throwaway>),
}

impl Database {
    pub async fn create(backend: &Backend) -> Result<Database> {
        Ok(match backend {
            Backend::Sqlite => {
                let dir = temp_dir()?;
                Database::Sqlite {
                    path: dir.path().join("loyalbatch.db"),
                    _dir: dir,
                }
            }
            Backend::Postgres(server) => {
                Database::Postgres(Box::new(pg::Throwaway::create(server).await?))
            }
        })
    }

    /// What a server process is told to open: the SQLite file's path or the database's URL.
    pub fn target(&self) -> String {
        match self {
            Database::Sqlite { path, .. } => path.display().to_string(),
            Database::Postgres(db) => db.url(),
        }
    }

    /// A store on this database (a pool of its own on PostgreSQL).
    pub async fn open_store(&self) -> Result<Arc<dyn Store>> {
        open_store(&self.target()).await
    }

    /// Customer rows in the database, counted directly.
    pub async fn customer_rows(&self) -> Result<usize> {
        self.count("SELECT count(*) FROM customers").await
    }

    /// The single number a `SELECT count(*) …` answers, read directly.
    pub async fn count(&self, sql: &str) -> Result<usize> {
        match self {
            Database::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path)?;
                let rows: i64 = conn.query_row(sql, [], |r| r.get(0))?;
                Ok(usize::try_from(rows)?)
            }
            Database::Postgres(db) => db.count(sql).await,
        }
    }

    /// Removes the database (every store on it must be stopped).
    pub async fn remove(self) -> Result<()> {
        match self {
            Database::Sqlite { .. } => Ok(()),
            Database::Postgres(db) => db.remove().await,
        }
    }
}

/// Opens `target`: a `postgres://` URL, else a SQLite file path (created when new).
pub async fn open_store(target: &str) -> Result<Arc<dyn Store>> {
    if pg::is_postgres_url(target) {
        let store = PostgresStore::connect(target, POSTGRES_POOL)
            .await
            .context("connecting the PostgreSQL store")?;
        return Ok(Arc::new(store));
    }
    let store = SqliteStore::open(target).with_context(|| format!("opening {target}"))?;
    Ok(Arc::new(store))
}
