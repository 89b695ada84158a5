//! The ledger benchmark's raw baseline: the movement rows and ledgers the engine writes, computed beforehand with the same domain ledger, then written as plainly as each database allows (each in its store's layout).

use crate::backend::Database;
use crate::cpu::{Lap, Stopwatch};
use crate::ledger::{TRANSACTION_MILLIS, amount, customer_of};
use anyhow::Result;
use domain::ledger::{DAY, Ledger};
use rusqlite::{Connection, TransactionBehavior, params};
use std::collections::HashMap;
use std::path::Path;
use std::pin::pin;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// One precomputed raw write: a movement row and the customer's ledger after it.
pub struct RawRow {
    id: i64,
    gameball_id: i64,
    kind: &'static str,
    transaction_id: String,
    points: i64,
    amount: Option<String>,
    entry: String,
    ledger: String,
}

/// The rows the e2e run writes for cashback then redeem, computed (untimed) with the
/// same domain ledger: each item appends a movement and rewrites its customer's ledger.
pub fn rows(items: usize, population: usize) -> Result<(Vec<RawRow>, Vec<RawRow>)> {
    let mut ledgers: Vec<Ledger> = vec![Ledger::default(); population];
    let settings = domain::settings::ProgramSettings::default();
    let mut id = 0;
    let mut cashback = Vec::with_capacity(items);
    for i in 0..items {
        let k = customer_of(i, population);
        let amount: rust_decimal::Decimal = amount(i).parse()?;
        let points = settings
            .cashback_points(amount)
            .ok_or_else(|| anyhow::anyhow!("amount {amount} is beyond the points limit"))?;
        id += 1;
        let entry = ledgers[k]
            .credit(TRANSACTION_MILLIS, points, TRANSACTION_MILLIS, None)
            .map_err(|r| anyhow::anyhow!("credit refused: {r:?}"))?;
        ledgers[k].apply(id, &entry);
        cashback.push(RawRow {
            id,
            gameball_id: k as i64 + 1,
            kind: "cashback",
            transaction_id: format!("cb-{i}"),
            points,
            amount: Some(amount.to_string()),
            entry: serde_json::to_string(&entry)?,
            ledger: serde_json::to_string(&ledgers[k])?,
        });
    }
    let mut redeem = Vec::with_capacity(items);
    let now = TRANSACTION_MILLIS + DAY;
    for i in 0..items {
        let k = customer_of(i, population);
        id += 1;
        let entry = ledgers[k]
            .debit(now, 1)
            .map_err(|r| anyhow::anyhow!("raw redeem {i}: {r:?}"))?;
        ledgers[k].apply(id, &entry);
        redeem.push(RawRow {
            id,
            gameball_id: k as i64 + 1,
            kind: "redemption",
            transaction_id: format!("rd-{i}"),
            points: -1,
            amount: Some("0.1".into()),
            entry: serde_json::to_string(&entry)?,
            ledger: serde_json::to_string(&ledgers[k])?,
        });
    }
    Ok((cashback, redeem))
}

/// Writes `rows` with plain rusqlite, 1,000 per transaction, with the store's pragmas
/// and its layout: each customer's ledger on its last movement of the transaction.
pub fn sqlite(path: &Path, rows: &[RawRow]) -> Result<Lap> {
    let mut conn = crate::phases::raw::open_like_the_store(path)?;
    let tenant: i64 = conn.query_row("SELECT id FROM tenants", [], |r| r.get(0))?;
    let watch = Stopwatch::start()?;
    for chunk in rows.chunks(1000) {
        let last: HashMap<i64, usize> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| (r.gameball_id, i))
            .collect();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO movements (id, tenant_id, gameball_id, kind, transaction_id, points, amount, \
                 transaction_time, entry, created_at, ledger) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8, ?10)",
            )?;
            for (i, r) in chunk.iter().enumerate() {
                let ledger = (last[&r.gameball_id] == i).then_some(&r.ledger);
                insert.execute(params![
                    r.id,
                    tenant,
                    r.gameball_id,
                    r.kind,
                    r.transaction_id,
                    r.points,
                    r.amount,
                    TRANSACTION_MILLIS,
                    r.entry,
                    ledger
                ])?;
            }
        }
        tx.commit()?;
    }
    watch.lap()
}

const COPY: &str = "COPY movements (id, tenant_id, gameball_id, kind, transaction_id, points, amount, \
                    transaction_time, entry, created_at, ledger) FROM STDIN BINARY";
const COLUMNS: [Type; 11] = [
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
];

/// Writes `rows` on PostgreSQL, 1,000 per transaction, in the store's layout: a
/// binary `COPY` of the movements, each customer's ledger on its last movement
/// of the transaction.
pub async fn postgres(client: &Client, rows: &[RawRow]) -> Result<Lap> {
    let tenant: i64 = client
        .query_one("SELECT id FROM tenants", &[])
        .await?
        .get(0);
    let watch = Stopwatch::start()?;
    for chunk in rows.chunks(1000) {
        let last: HashMap<i64, usize> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| (r.gameball_id, i))
            .collect();
        client.batch_execute("BEGIN").await?;
        let sink = client.copy_in(COPY).await?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &COLUMNS));
        for (i, r) in chunk.iter().enumerate() {
            let ledger = (last[&r.gameball_id] == i).then_some(r.ledger.as_str());
            let values: [&(dyn ToSql + Sync); 11] = [
                &r.id,
                &tenant,
                &r.gameball_id,
                &r.kind,
                &r.transaction_id,
                &r.points,
                &r.amount,
                &TRANSACTION_MILLIS,
                &r.entry,
                &TRANSACTION_MILLIS,
                &ledger,
            ];
            writer.as_mut().write(&values).await?;
        }
        writer.finish().await?;
        client.batch_execute("COMMIT").await?;
    }
    watch.lap()
}

/// Movement rows in `db`, counted directly.
pub async fn movements(db: &Database) -> Result<usize> {
    let n: i64 = match db {
        Database::Sqlite { path, .. } => {
            Connection::open(path)?.query_row("SELECT count(*) FROM movements", [], |r| r.get(0))?
        }
        Database::Postgres(pg) => pg
            .client()
            .await?
            .query_one("SELECT count(*) FROM movements", &[])
            .await?
            .get(0),
    };
    Ok(usize::try_from(n)?)
}
