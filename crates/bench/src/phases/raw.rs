//! Phase 2 on SQLite: the physical ceiling — the same rows upserted with plain rusqlite, 1,000 per transaction, same schema and pragmas.

use crate::backend::temp_dir;
use crate::cpu::{Lap, Stopwatch};
use crate::serve::create_tenant;
use crate::stats::per_second;
use crate::workload::{self, BATCH_SIZE, RawRow};
use anyhow::{Result, ensure};
use rusqlite::{Connection, TransactionBehavior, params};
use std::path::Path;
use store_sqlite::SqliteStore;
use time::OffsetDateTime;

const UPSERT: &str = "INSERT INTO customers (tenant_id, customer_id, profile, created_at, updated_at) \
                      VALUES (?1, ?2, ?3, ?4, ?4) \
                      ON CONFLICT (tenant_id, customer_id) DO UPDATE SET \
                      profile = excluded.profile, updated_at = excluded.updated_at";

pub struct RawRun {
    pub rows: usize,
    pub elapsed: Lap,
}

impl RawRun {
    pub fn rows_per_second(&self) -> f64 {
        per_second(self.rows, self.elapsed.elapsed)
    }
}

pub async fn run(rows: usize) -> Result<RawRun> {
    let dir = temp_dir()?;
    let path = dir.path().join("raw.db");
    {
        // The store creates the schema (identical tables and indexes) and the tenant row.
        let store = SqliteStore::open(&path)?;
        create_tenant(&store).await?;
    }
    let data = workload::raw_rows("c", rows)?;
    let elapsed = tokio::task::spawn_blocking(move || upsert_all(&path, &data)).await??;
    Ok(RawRun { rows, elapsed })
}

/// A connection with the store's writer pragmas (store-sqlite `open_connection`).
pub fn open_like_the_store(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    Ok(conn)
}

/// Upserts `rows` in transactions of [`BATCH_SIZE`]; returns the time taken.
fn upsert_all(path: &Path, rows: &[RawRow]) -> Result<Lap> {
    let mut conn = open_like_the_store(path)?;
    let tenant: i64 = conn.query_row("SELECT id FROM tenants", [], |r| r.get(0))?;
    let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;

    let watch = Stopwatch::start()?;
    for chunk in rows.chunks(BATCH_SIZE) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare_cached(UPSERT)?;
            for row in chunk {
                upsert.execute(params![tenant, row.customer_id, row.profile, now])?;
            }
        }
        tx.commit()?;
    }
    let elapsed = watch.lap()?;

    let stored: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
    ensure!(
        usize::try_from(stored)? == rows.len(),
        "{} rows upserted but {stored} stored",
        rows.len()
    );
    Ok(elapsed)
}
