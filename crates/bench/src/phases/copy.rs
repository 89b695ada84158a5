//! Phase 2 on PostgreSQL: the physical ceiling — the same rows as a raw binary `COPY` into the same `customers` table, in 1,000-row COPYs each committed on its own, then in one COPY.

use crate::cpu::{Lap, Stopwatch};
use crate::pg::{Server, Throwaway};
use crate::serve::create_tenant;
use crate::stats::per_second;
use crate::workload::{self, BATCH_SIZE, RawRow};
use anyhow::{Result, ensure};
use std::pin::pin;
use store_postgres::PostgresStore;
use time::OffsetDateTime;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

const COPY: &str = "COPY customers (gameball_id, tenant_id, customer_id, profile, created_at, updated_at) \
                    FROM STDIN BINARY";
const COLUMNS: [Type; 6] = [
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
];

pub struct CopyRun {
    pub rows: usize,
    /// Rows per COPY (and per commit) in the chunked run, as the engine's chunks.
    pub chunk_rows: usize,
    /// `rows / chunk_rows` COPYs in turn on one connection, each its own transaction.
    pub chunked: Lap,
    /// One COPY of every row (one transaction), into the emptied table.
    pub whole: Lap,
}

impl CopyRun {
    pub fn rows_per_second(&self) -> f64 {
        per_second(self.rows, self.chunked.elapsed)
    }

    pub fn whole_rows_per_second(&self) -> f64 {
        per_second(self.rows, self.whole.elapsed)
    }
}

pub async fn run(server: &Server, rows: usize) -> Result<CopyRun> {
    let db = Throwaway::create(server).await?;
    {
        // The store creates the schema (identical tables and indexes) and the tenant row.
        let store = PostgresStore::connect(&db.url(), 2).await?;
        create_tenant(&store).await?;
    }
    let client = db.client().await?;
    let tenant: i64 = client
        .query_one("SELECT id FROM tenants", &[])
        .await?
        .get(0);
    let data = workload::raw_rows("c", rows)?;
    let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;

    let watch = Stopwatch::start()?;
    for (n, chunk) in data.chunks(BATCH_SIZE).enumerate() {
        copy(&client, tenant, chunk, (n * BATCH_SIZE) as i64 + 1, now).await?;
    }
    let chunked = watch.lap()?;
    ensure_rows(&client, rows).await?;

    client.batch_execute("TRUNCATE customers").await?;
    let watch = Stopwatch::start()?;
    copy(&client, tenant, &data, 1, now).await?;
    let whole = watch.lap()?;
    ensure_rows(&client, rows).await?;

    drop(client);
    db.remove().await?;
    Ok(CopyRun {
        rows,
        chunk_rows: BATCH_SIZE,
        chunked,
        whole,
    })
}

/// One `COPY … FROM STDIN BINARY` of `rows`, with gameball ids from `first_id` on
/// (the store takes them from a sequence; on an empty table the values are alike).
async fn copy(
    client: &Client,
    tenant: i64,
    rows: &[RawRow],
    first_id: i64,
    now: i64,
) -> Result<()> {
    let sink = client.copy_in(COPY).await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &COLUMNS));
    for (id, row) in (first_id..).zip(rows) {
        let values: [&(dyn ToSql + Sync); 6] =
            [&id, &tenant, &row.customer_id, &row.profile, &now, &now];
        writer.as_mut().write(&values).await?;
    }
    let copied = writer.finish().await?;
    ensure!(
        copied == rows.len() as u64,
        "{} rows sent but {copied} copied",
        rows.len()
    );
    Ok(())
}

async fn ensure_rows(client: &Client, rows: usize) -> Result<()> {
    let stored: i64 = client
        .query_one("SELECT count(*) FROM customers", &[])
        .await?
        .get(0);
    ensure!(
        usize::try_from(stored)? == rows,
        "{rows} rows copied but {stored} stored"
    );
    Ok(())
}
