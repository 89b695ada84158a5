//! `loyalbatch-bench ledger`: cashback, redeem and balance-inquiry batches end to end over a population of existing customers, next to a raw write of the same ledger rows (rusqlite, or PostgreSQL binary `COPY`), at a small and a large population.

use crate::api::{Api, verify_jobs};
use crate::backend::{Backend, Database};
use crate::cpu::{Lap, Stopwatch};
use crate::phases::{DRAIN_DEADLINE, submit_all};
use crate::raw_writes;
use crate::serve::{Served, create_tenant};
use crate::stats::per_second;
use anyhow::{Context, Result, ensure};
use engine::EngineConfig;
use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use wire::JobState;

/// Every item's transaction time (in the past, so the 5-minute rule never refuses one).
const TRANSACTION_TIME: &str = "2026-01-15T10:00:00Z";
pub const TRANSACTION_MILLIS: i64 = 1_768_471_200_000;

pub struct LedgerSettings {
    /// Existing customers of the main run.
    pub customers: usize,
    /// Existing customers of the large run (the same items, spread over all of them).
    pub large: usize,
    /// Items per kind.
    pub items: usize,
    pub connections: usize,
    pub config: EngineConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cashback,
    Redeem,
    BalanceInquiry,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Cashback, Kind::Redeem, Kind::BalanceInquiry];

    fn batch_type(self) -> &'static str {
        match self {
            Kind::Cashback => "cashback",
            Kind::Redeem => "redeem",
            Kind::BalanceInquiry => "balance-inquiry",
        }
    }
}

/// Item `i`'s customer: a stride over the whole population (7919 is prime), so a
/// chunk's customers are spread over the table as real traffic is.
pub fn customer_of(i: usize, population: usize) -> usize {
    i.wrapping_mul(7919) % population
}

pub fn amount(i: usize) -> String {
    format!("{}.{:02}", 10 + i % 90, i % 100)
}

fn item(kind: Kind, i: usize, population: usize) -> String {
    let c = customer_of(i, population);
    match kind {
        Kind::Cashback => format!(
            r#"{{"customerId":"c{c}","transactionId":"cb-{i}","transactionTime":"{TRANSACTION_TIME}","amount":{}}}"#,
            amount(i)
        ),
        Kind::Redeem => format!(
            r#"{{"customerId":"c{c}","transactionId":"rd-{i}","transactionTime":"{TRANSACTION_TIME}","points":1}}"#
        ),
        Kind::BalanceInquiry => format!(r#"{{"customerId":"c{c}"}}"#),
    }
}

/// The batch requests (items, body) of `count` items of `kind`, 1,000 per request.
fn bodies(kind: Kind, count: usize, population: usize) -> Vec<(u32, Vec<u8>)> {
    (0..count)
        .step_by(1000)
        .map(|from| {
            let to = (from + 1000).min(count);
            let items: Vec<String> = (from..to).map(|i| item(kind, i, population)).collect();
            (
                (to - from) as u32,
                format!(r#"{{"body":[{}]}}"#, items.join(",")).into_bytes(),
            )
        })
        .collect()
}

/// Inserts customers `c0..c{population}` straight into the customers table, with
/// empty ledgers, as an import would have left them (untimed set-up).
fn seed(path: &Path, population: usize) -> Result<()> {
    let mut conn = Connection::open(path)?;
    let tenant: i64 = conn.query_row("SELECT id FROM tenants", [], |r| r.get(0))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO customers (gameball_id, tenant_id, customer_id, profile, ledger, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, '{}', 0, 0)",
        )?;
        for k in 0..population {
            insert.execute(params![
                k as i64 + 1,
                tenant,
                format!("c{k}"),
                format!(r#"{{"email":"c{k}@example.com"}}"#)
            ])?;
        }
        tx.execute(
            "UPDATE counters SET value = ?1 WHERE name = 'gameball_id'",
            [population as i64],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The same customers on PostgreSQL, in one statement.
async fn seed_postgres(db: &crate::pg::Throwaway, population: usize) -> Result<()> {
    let client = db.client().await?;
    let tenant: i64 = client
        .query_one("SELECT id FROM tenants", &[])
        .await?
        .get(0);
    client
        .execute(
            "INSERT INTO customers (gameball_id, tenant_id, customer_id, profile, ledger, created_at, updated_at) \
             SELECT g, $1, 'c' || (g - 1), '{\"email\":\"c' || (g - 1) || '@example.com\"}', '{}', 0, 0 \
             FROM generate_series(1, $2::BIGINT) AS g",
            &[&tenant, &(population as i64)],
        )
        .await?;
    client
        .execute("SELECT setval('gameball_ids', $1)", &[&(population as i64)])
        .await?;
    client.batch_execute("ANALYZE customers").await?;
    Ok(())
}

/// A fresh database with the bench tenant and `population` customers.
async fn seeded(backend: &Backend, population: usize) -> Result<(Database, String, String)> {
    let db = Database::create(backend).await?;
    let (apikey, secret) = {
        let store = db.open_store().await?;
        create_tenant(&*store).await?
    };
    match &db {
        Database::Sqlite { path, .. } => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || seed(&path, population)).await??
        }
        Database::Postgres(pg) => seed_postgres(pg, population).await?,
    }
    Ok((db, apikey, secret))
}

pub struct KindRun {
    items: usize,
    elapsed: Lap,
}

impl KindRun {
    fn per_second(&self) -> f64 {
        per_second(self.items, self.elapsed.elapsed)
    }
}

/// The three kinds, in order, end to end on one server over `population` customers.
async fn end_to_end(
    backend: &Backend,
    population: usize,
    items: usize,
    connections: usize,
    config: EngineConfig,
) -> Result<Vec<KindRun>> {
    let (db, apikey, secret) = seeded(backend, population).await?;
    let mut served = Served::start(db.open_store().await?, config).await?;
    served.start_engine();
    let api = Api::new(&served.base_url(), &apikey, &secret)?;
    let mut submitted_all = BTreeMap::new();
    let mut runs = Vec::new();
    for kind in Kind::ALL {
        let bodies = bodies(kind, items, population);
        let watch = Stopwatch::start()?;
        let (submitted, _) = submit_all(
            std::slice::from_ref(&api),
            kind.batch_type(),
            bodies.into_iter(),
            connections,
        )
        .await?;
        api.wait_until_drained(DRAIN_DEADLINE).await?;
        let elapsed = watch.lap()?;
        submitted_all.extend(submitted);
        // Every item of every job succeeded: the work measured is the work asked.
        verify_jobs(&api.all_jobs().await?, &submitted_all, JobState::Completed)?;
        runs.push(KindRun { items, elapsed });
    }
    drop(api);
    served.stop().await?;
    db.remove().await?;
    Ok(runs)
}

pub struct RawRun {
    items: usize,
    cashback: Lap,
    redeem: Lap,
}

/// The raw ceiling over `population` customers: the same movement rows and ledger rewrites.
async fn raw(backend: &Backend, population: usize, items: usize) -> Result<RawRun> {
    let (db, _, _) = seeded(backend, population).await?;
    let (cashback_rows, redeem_rows) =
        tokio::task::spawn_blocking(move || raw_writes::rows(items, population)).await??;
    let (cashback, redeem) = match &db {
        Database::Sqlite { path, .. } => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> Result<(Lap, Lap)> {
                Ok((
                    raw_writes::sqlite(&path, &cashback_rows)?,
                    raw_writes::sqlite(&path, &redeem_rows)?,
                ))
            })
            .await
            .context("the raw writer panicked")??
        }
        Database::Postgres(pg) => {
            let client = pg.client().await?;
            (
                raw_writes::postgres(&client, &cashback_rows).await?,
                raw_writes::postgres(&client, &redeem_rows).await?,
            )
        }
    };
    let stored = raw_writes::movements(&db).await?;
    ensure!(stored == 2 * items, "{stored} raw movements stored");
    db.remove().await?;
    Ok(RawRun {
        items,
        cashback,
        redeem,
    })
}

impl RawRun {
    fn per_second(&self, kind: Kind) -> Option<f64> {
        match kind {
            Kind::Cashback => Some(per_second(self.items, self.cashback.elapsed)),
            Kind::Redeem => Some(per_second(self.items, self.redeem.elapsed)),
            Kind::BalanceInquiry => None,
        }
    }
}

/// Runs everything and prints the report (or JSON).
pub async fn run(s: LedgerSettings, backend: &Backend, json_out: bool, date: String) -> Result<()> {
    let name = backend.name();
    eprintln!(
        "1/3 end to end on {name} over {} customers ({} items per kind)…",
        s.customers, s.items
    );
    let small = end_to_end(
        backend,
        s.customers,
        s.items,
        s.connections,
        s.config.clone(),
    )
    .await?;
    eprintln!("2/3 raw writes of the same ledger rows…");
    let raw = raw(backend, s.customers, s.items).await?;
    eprintln!("3/3 end to end over {} customers…", s.large);
    let large = end_to_end(backend, s.large, s.items, s.connections, s.config.clone()).await?;

    let m = crate::machine::describe();
    let machine = format!(
        "{} CPUs ({}), Linux {}, temp on {}",
        m.cpus, m.cpu_model, m.kernel, m.temp_fs
    );
    let mut kinds = Vec::new();
    for ((a, b), kind) in small.iter().zip(&large).zip(Kind::ALL) {
        let raw_rate = raw.per_second(kind);
        kinds.push(json!({
            "kind": kind.batch_type(),
            "items": a.items,
            "itemsPerSecond": a.per_second().round(),
            "seconds": a.elapsed.elapsed.as_secs_f64(),
            "coresBusy": a.elapsed.cores_busy,
            "rawRowsPerSecond": raw_rate.map(f64::round),
            "ratioToRaw": raw_rate.map(|r| a.per_second() / r),
            "large": {
                "customers": s.large,
                "itemsPerSecond": b.per_second().round(),
                "ratioToSmall": b.per_second() / a.per_second(),
            },
        }));
    }
    let report = json!({
        "date": date,
        "machine": machine,
        "backend": name,
        "customers": s.customers,
        "workers": s.config.workers,
        "chunkSize": s.config.chunk_size,
        "connections": s.connections,
        "kinds": kinds,
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("loyalbatch ledger benchmark — {date}");
    println!("machine: {machine}");
    println!(
        "{name} ({}); {} workers, chunks of {}, {} requests in flight; {} items per kind",
        match backend {
            Backend::Sqlite => "raw = rusqlite, 1,000 items per transaction".to_owned(),
            Backend::Postgres(server) => format!(
                "{}; raw = binary COPY of the movements, each customer's ledger on its last one, 1,000 items per transaction",
                server.display()
            ),
        },
        s.config.workers,
        s.config.chunk_size,
        s.connections,
        s.items
    );
    println!();
    println!(
        "{:<16} {:>14} {:>12} {:>10} {:>16} {:>10}",
        "kind", "items/s", "raw rows/s", "vs raw", "items/s (large)", "vs small"
    );
    for k in report["kinds"].as_array().into_iter().flatten() {
        let opt =
            |v: &Value, f: &dyn Fn(f64) -> String| v.as_f64().map(f).unwrap_or_else(|| "—".into());
        println!(
            "{:<16} {:>14} {:>12} {:>10} {:>16} {:>10}",
            k["kind"].as_str().unwrap_or_default(),
            opt(&k["itemsPerSecond"], &|v| format!("{v:.0}")),
            opt(&k["rawRowsPerSecond"], &|v| format!("{v:.0}")),
            opt(&k["ratioToRaw"], &|v| format!("{v:.2}×")),
            opt(&k["large"]["itemsPerSecond"], &|v| format!("{v:.0}")),
            opt(&k["large"]["ratioToSmall"], &|v| format!("{v:.2}×")),
        );
    }
    println!();
    println!(
        "small = {} existing customers, large = {} existing customers (same items, spread over all of them)",
        s.customers, s.large
    );
    Ok(())
}
