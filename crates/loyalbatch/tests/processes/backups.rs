//! Backups under load, on the real binary: taken while jobs of every type run,
//! each restored into a fresh server, each snapshot equal to the ledger replayed
//! from its own movements, and every restored server running the jobs to the
//! same end — every item exactly once. Scheduled backups rotate. PostgreSQL:
//! the same with `pg_dump` and `pg_restore`.

use crate::node::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::postgres::TestDatabase;

const CUSTOMERS: usize = 40;

fn customer(i: usize) -> String {
    format!("c{}", i % CUSTOMERS)
}

fn time() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Items the seed submits.
const SEEDED: u64 = 3 * CUSTOMERS as u64;

/// Customers with 1,000 points each (so no redemption of the workload can
/// fail, in whatever order its jobs interleave), an order each (for the
/// workload's order lookups) and an open hold each.
async fn seed(url: &str) {
    let people: Vec<Value> = (0..CUSTOMERS)
        .map(|i| json!({"customerId": customer(i)}))
        .collect();
    submit(url, "customers", people).await;
    // Adjustments need their customers: two workers would run both jobs at once.
    wait_processed(url, |n| n == CUSTOMERS as u64).await;
    let points: Vec<Value> = (0..CUSTOMERS)
        .map(|i| json!({"customerId": customer(i), "amount": 1000, "transactionId": format!("seed-{i}")}))
        .collect();
    submit(url, "balance-adjustment", points).await;
    let orders: Vec<Value> = (0..CUSTOMERS)
        .map(|i| json!({"customerId": customer(i), "orderId": format!("so-{i}"), "orderDate": time(), "totalPaid": 50}))
        .collect();
    submit(url, "orders", orders).await;
    wait_processed(url, |n| n == SEEDED).await;
    for i in 0..CUSTOMERS {
        let (status, body) = call(
            url,
            Method::POST,
            "/transactions/hold",
            Some(json!({"customerId": customer(i), "transactionTime": time(), "pointsToHold": 7})),
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }
}

/// Jobs of every type, all submitted before the first backup: every snapshot
/// holds all of them, so every restored server must reach the same end.
async fn submit_workload(url: &str) -> u64 {
    let n = 300;
    let t = time();
    let mut total = 0;
    let mut send = async |kind: &str, body: Vec<Value>| {
        total += body.len() as u64;
        submit(url, kind, body).await;
    };
    send("balance-adjustment", (0..n).map(|i| json!({"customerId": customer(i), "amount": i % 5 + 1, "transactionId": format!("adj-{i}")})).collect()).await;
    send("cashback", (0..n).map(|i| json!({"customerId": customer(i), "transactionId": format!("cb-{i}"), "transactionTime": t, "amount": 10 + i % 7})).collect()).await;
    send("redeem", (0..n).map(|i| json!({"customerId": customer(i), "transactionId": format!("rd-{i}"), "transactionTime": t, "points": 1})).collect()).await;
    send(
        "events",
        (0..n)
            .map(|i| json!({"customerId": customer(i), "events": {"visit": {"i": i}}}))
            .collect(),
    )
    .await;
    send("orders", (0..n).map(|i| json!({"customerId": customer(i), "orderId": format!("o-{i}"), "orderDate": t, "totalPaid": 20})).collect()).await;
    send(
        "balance-inquiry",
        (0..n).map(|i| json!({"customerId": customer(i)})).collect(),
    )
    .await;
    send(
        "orders/transactions",
        (0..n)
            .map(|i| json!(format!("so-{}", i % CUSTOMERS)))
            .collect(),
    )
    .await;
    send(
        "customers",
        (0..n)
            .map(|i| json!({"customerId": customer(i), "displayName": format!("n{i}")}))
            .collect(),
    )
    .await;
    total
}

/// In a snapshot: every customer's stored ledger (lots, holds, debt, earnings)
/// is the replay of its own movements, and every job's counts match its results.
async fn snapshot_is_consistent(store: &dyn store::Store, label: &str) {
    let tenant = store.tenant_by_apikey(APIKEY).await.unwrap().unwrap().id;
    let at = store::to_millis(time::OffsetDateTime::now_utc());
    for i in 0..CUSTOMERS {
        let Some(view) = store.customer(tenant, &customer(i)).await.unwrap() else {
            continue;
        };
        let movements = store.movements(tenant, &customer(i)).await.unwrap();
        let mut replayed = domain::ledger::Ledger::replay(
            movements.iter().map(|m| (m.id, m.created_at, &m.entry)),
        );
        let mut stored = view.record.ledger;
        replayed.settle(at);
        stored.settle(at);
        assert_eq!(stored, replayed, "{label}: {}", customer(i));
    }
    let filter = store::JobFilter {
        state: None,
        batch_type: None,
        before: None,
        limit: 200,
    };
    let entries = |joined: &str| -> u32 {
        let list: Vec<Value> = serde_json::from_str(&format!("[{joined}]")).unwrap();
        list.len() as u32
    };
    for job in store.list_jobs(tenant, &filter).await.unwrap() {
        let (record, chunks) = store
            .job_with_results(tenant, job.id)
            .await
            .unwrap()
            .unwrap();
        let ok: u32 = chunks.iter().map(|c| entries(&c.successful)).sum();
        let failed: u32 = chunks.iter().map(|c| entries(&c.failed)).sum();
        assert_eq!(
            (ok, failed, ok + failed),
            (record.finished_count, record.error_count, record.processed),
            "{label}: job {} holds the results of exactly the items its cursor passed",
            record.id
        );
    }
}

/// Each customer's whole balance, read through the API.
async fn balances(url: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for i in 0..CUSTOMERS {
        let (status, mut b) = call(
            url,
            Method::GET,
            &format!("/customers/{}/balance", customer(i)),
            None,
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{b}");
        b.as_object_mut().unwrap().remove("nextExpiringPointsDate");
        all.push(b);
    }
    all
}

/// Every job completed with no failed item.
async fn all_completed(url: &str, label: &str) {
    for job in jobs(url).await {
        assert_eq!(
            (job["status"].as_str(), job["errorCount"].as_u64()),
            (Some("completed"), Some(0)),
            "{label}: {job}"
        );
    }
}

fn loyalbatch(args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .env("LOYALBATCH_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "loyalbatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn backups_taken_while_jobs_run_restore_into_servers_that_finish_every_item_once() {
    let dir = tempfile::tempdir().unwrap();
    let live = sqlite_url(&dir.path().join("live.db"));
    let auto = dir.path().join("auto");
    std::fs::create_dir_all(&auto).unwrap();
    let cut_short = auto.join(".loyalbatch-20200101T000000.000Z.db.partial");
    std::fs::write(&cut_short, b"a backup a crash interrupted").unwrap();
    let auto_dir = auto.display().to_string();
    let flags = [
        "--chunk-size",
        "5",
        "--workers",
        "2",
        "--lease",
        "2s",
        "--backup-dir",
        &auto_dir,
        "--backup-every",
        "1s",
        "--backup-keep",
        "3",
    ];
    let node = Node::start(&live, &flags, true);
    assert!(!cut_short.exists(), "a partial backup is removed at start");
    seed(&node.url).await;
    let total = SEEDED + submit_workload(&node.url).await;

    // 20 backups while the jobs run (each CLI call is a process of its own).
    let mut taken = Vec::new();
    for b in 0..20 {
        let file = dir.path().join(format!("b{b:02}.db"));
        let held = loyalbatch(&[
            "backup",
            "--database-url",
            &live,
            "--to",
            &file.display().to_string(),
            "--json",
        ]);
        taken.push((file, held));
    }
    wait_processed(&node.url, |n| n == total).await;
    all_completed(&node.url, "live").await;
    let expected = balances(&node.url).await;
    let mid_run = taken
        .iter()
        .filter(|(_, held)| held["unfinishedJobs"].as_i64().unwrap() > 0)
        .count();
    assert!(
        mid_run >= 10,
        "only {mid_run} of 20 backups caught jobs running"
    );

    for (b, (file, held)) in taken.iter().enumerate() {
        let label = format!("backup {b} ({held})");
        let fresh = dir.path().join(format!("restored-{b}.db"));
        let url = sqlite_url(&fresh);
        let restored = loyalbatch(&[
            "restore",
            &file.display().to_string(),
            "--database-url",
            &url,
            "--json",
        ]);
        assert_eq!(restored["jobs"], held["jobs"], "{label}");
        assert!(restored["replaced"].is_null());
        {
            let store = store_sqlite::SqliteStore::open(&fresh).unwrap();
            snapshot_is_consistent(&store, &label).await;
        }
        let server = Node::start(&url, &["--chunk-size", "50"], true);
        wait_processed(&server.url, |n| n == total).await;
        all_completed(&server.url, &label).await;
        assert_eq!(balances(&server.url).await, expected, "{label}");
        server.kill();
        let conn = rusqlite::Connection::open(&fresh).unwrap();
        let (rows, distinct): (i64, i64) = conn
            .query_row(
                "SELECT count(transaction_id), count(DISTINCT transaction_id) FROM movements",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(rows, distinct, "{label}: a transaction id applied twice");
    }

    // The scheduled backups rotate: three kept, the oldest gone, each whole.
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&auto)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let first = listing().first().cloned().expect("a scheduled backup");
    let deadline = Instant::now() + Duration::from_secs(30);
    while listing().contains(&first) || listing().len() != 3 {
        assert!(Instant::now() < deadline, "no rotation: {:?}", listing());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.kill();
    for name in listing() {
        assert!(
            name.starts_with("loyalbatch-") && name.ends_with("Z.db"),
            "{name}"
        );
        store_sqlite::verify(&auto.join(&name)).unwrap();
    }
}

#[tokio::test]
async fn a_pg_dump_taken_while_jobs_run_restores_into_a_server_that_finishes_every_item_once() {
    let (Some(live), Some(copy)) = (TestDatabase::create().await, TestDatabase::create().await)
    else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped the pg_dump test: set LOYALBATCH_TEST_POSTGRES_URL"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        &live.url(),
        &["--chunk-size", "5", "--workers", "2", "--lease", "1s"],
        true,
    );
    let refused = Command::new(BIN)
        .args(["backup", "--database-url", &live.url(), "--to", "x.db"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));
    // Neither restores nor scheduled backups are loyalbatch's on PostgreSQL: both say what to use.
    let restore = Command::new(BIN)
        .args(["restore", "x.db", "--database-url", &live.url()])
        .output()
        .unwrap();
    assert!(!restore.status.success());
    assert!(String::from_utf8_lossy(&restore.stderr).contains("pg_restore"));
    let scheduled = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &live.url(),
        ])
        .args([
            "--backup-dir",
            &dir.path().join("auto").display().to_string(),
        ])
        .env("LOYALBATCH_METRICS_LISTEN", "off")
        .output()
        .unwrap();
    assert!(
        !scheduled.status.success(),
        "serve --backup-dir on PostgreSQL starts"
    );
    assert!(String::from_utf8_lossy(&scheduled.stderr).contains("--backup-dir: on PostgreSQL"));
    seed(&node.url).await;
    let total = SEEDED + submit_workload(&node.url).await;
    let dump = dir.path().join("dump.pgc");
    let out = Command::new("pg_dump")
        .args([
            "--format=custom",
            "--file",
            &dump.display().to_string(),
            &live.url(),
        ])
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let processed_at_dump = processed(&node.url).await;
    wait_processed(&node.url, |n| n == total).await;
    let expected = balances(&node.url).await;
    node.kill();

    let out = Command::new("pg_restore")
        .args([
            "--no-owner",
            "--dbname",
            &copy.url(),
            &dump.display().to_string(),
        ])
        .output()
        .expect("pg_restore runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let label = format!("pg_dump at {processed_at_dump} of {total} items");
    {
        let store = store_postgres::PostgresStore::connect(&copy.url(), 4)
            .await
            .unwrap();
        snapshot_is_consistent(&store, &label).await;
    }
    let server = Node::start(&copy.url(), &["--lease", "1s"], true);
    wait_processed(&server.url, |n| n == total).await;
    all_completed(&server.url, &label).await;
    assert_eq!(balances(&server.url).await, expected, "{label}");
    server.kill();
    let row = copy
        .client()
        .await
        .query_one(
            "SELECT count(transaction_id), count(DISTINCT transaction_id) FROM movements",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), row.get::<_, i64>(1), "{label}");
}
