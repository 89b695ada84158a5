//! A full disk under the embedded database, on the real binary: the database
//! on a small tmpfs, the tmpfs filled while batches arrive and jobs run. Intake
//! answers 503 with `Retry-After` (never 500, never a half-stored job), running
//! jobs wait without failing an item, `/ready` says why, and once space is
//! freed everything completes by itself, every item exactly once.

use crate::node::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A size-limited tmpfs, unmounted on drop.
struct Tmpfs {
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (and a visible skip) where this process may not mount one.
    fn mount(megabytes: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("small");
        std::fs::create_dir(&mount).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&mount)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = writeln!(
                std::io::stderr(),
                "skipped the disk-full test: mounting a tmpfs needs root (CAP_SYS_ADMIN)"
            );
            return None;
        }
        Some(Tmpfs { mount, _dir: dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// Fills the filesystem of `dir` to its last byte; returns the filler files.
fn fill(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    // Big blocks first, then ever smaller ones, until not even a byte fits.
    for (n, block) in [1 << 20, 64 << 10, 4 << 10, 512, 1].into_iter().enumerate() {
        let path = dir.join(format!("filler-{n}"));
        let mut file = std::fs::File::create(&path).unwrap();
        while file.write_all(&vec![0u8; block]).is_ok() && file.flush().is_ok() {}
        files.push(path);
    }
    files
}

fn adjustments(batch: usize) -> Vec<Value> {
    (0..50)
        .map(|i| json!({"customerId": format!("c{}", i % 10), "amount": 1 + batch % 3, "transactionId": format!("b{batch}-{i}")}))
        .collect()
}

async fn post_batch(url: &str, body: &[Value]) -> reqwest::Response {
    client()
        .post(format!("{url}{BASE}/batch/balance-adjustment"))
        .header("apikey", APIKEY)
        .header("secretkey", SECRET)
        .json(&json!({ "body": body }))
        .send()
        .await
        .unwrap()
}

async fn ready(url: &str) -> (StatusCode, Value) {
    let resp = client().get(format!("{url}/ready")).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

async fn wait_ready(url: &str, want: StatusCode) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = ready(url).await;
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "/ready stayed {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The scenario on a node whose database lives on the filesystem of `dir`:
/// jobs running, the filesystem filled, batches refused, `/ready` saying why,
/// then space freed and everything completed exactly once. Returns how many
/// batches of 50 adjustments were applied.
async fn fill_wait_and_free(node: &Node, dir: &Path) -> usize {
    let people: Vec<Value> = (0..10)
        .map(|i| json!({"customerId": format!("c{i}")}))
        .collect();
    submit(&node.url, "customers", people).await;
    wait_processed(&node.url, |n| n == 10).await;

    // Jobs queued while there is room, still running when the disk fills.
    let mut accepted: Vec<usize> = Vec::new();
    for batch in 0..40 {
        let resp = post_batch(&node.url, &adjustments(batch)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        accepted.push(batch);
    }
    let fillers = fill(dir);
    let mut refused = Vec::new();
    for batch in 40..400 {
        let resp = post_batch(&node.url, &adjustments(batch)).await;
        let status = resp.status();
        let retry_after = resp.headers().get("retry-after").cloned();
        let body: Value = resp.json().await.unwrap();
        match status {
            StatusCode::OK => accepted.push(batch),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry_after.is_some(), "a 503 says when to retry: {body}");
                assert_eq!(
                    body["message"],
                    "the database's disk is full; nothing was stored, retry later"
                );
                refused.push(batch);
            }
            other => panic!("batch {batch}: {other} {body}"),
        }
        if refused.len() >= 5 {
            break;
        }
    }
    assert!(
        refused.len() >= 5,
        "the disk never filled: {} accepted",
        accepted.len()
    );
    let why = wait_ready(&node.url, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(why["reason"], "the database's disk is full", "{why}");
    let waiting = 10 + 50 * accepted.len() as u64 - processed(&node.url).await;
    assert!(waiting > 0, "no job was left running when the disk filled");
    eprintln!(
        "disk full: {} batches accepted, {} refused, {waiting} items waiting",
        accepted.len(),
        refused.len()
    );
    // A refused batch stored nothing: the jobs listed are the accepted ones.
    assert_eq!(jobs(&node.url).await.len(), 1 + accepted.len());
    for job in jobs(&node.url).await {
        assert_eq!(
            job["errorCount"], 0,
            "no item failed for want of space: {job}"
        );
    }

    for f in fillers {
        std::fs::remove_file(f).unwrap();
    }
    wait_ready(&node.url, StatusCode::OK).await;
    for &batch in &refused {
        let resp = post_batch(&node.url, &adjustments(batch)).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let batches = accepted.len() + refused.len();
    let total = 10 + 50 * batches as u64;
    wait_processed(&node.url, |n| n == total).await;
    let mut expected = [0i64; 10];
    for batch in accepted.iter().chain(&refused) {
        for item in adjustments(*batch) {
            let c: usize = item["customerId"].as_str().unwrap()[1..].parse().unwrap();
            expected[c] += item["amount"].as_i64().unwrap();
        }
    }
    for job in jobs(&node.url).await {
        assert_eq!(
            (job["status"].as_str(), job["errorCount"].as_u64()),
            (Some("completed"), Some(0)),
            "{job}"
        );
    }
    for (c, points) in expected.iter().enumerate() {
        assert_eq!(
            available_points(&node.url, &format!("c{c}")).await,
            *points,
            "c{c}"
        );
    }
    batches
}

#[tokio::test]
async fn a_full_disk_pauses_writes_and_everything_completes_once_space_is_freed() {
    let Some(disk) = Tmpfs::mount(24) else { return };
    let url = format!("sqlite://{}", disk.mount.join("lb.db").display());
    let node = Node::start(&url, &["--chunk-size", "5", "--workers", "2"], true);
    let batches = fill_wait_and_free(&node, &disk.mount).await;
    node.kill();
    let conn = rusqlite::Connection::open(disk.mount.join("lb.db")).unwrap();
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT transaction_id) FROM movements",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, distinct), (50 * batches as i64, 50 * batches as i64));
}

/// A tablespace on a tmpfs, the test database moved into it; dropped (after
/// the database) on drop.
struct SmallTablespace {
    name: String,
    admin: String,
}

impl SmallTablespace {
    fn psql(admin: &str, sql: &str) -> bool {
        Command::new("psql")
            .args([admin, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `None` (and a visible skip) where PostgreSQL runs as another OS user
    /// that cannot be given the directory, or not on this machine.
    fn create(disk: &Tmpfs, admin: &str) -> Option<SmallTablespace> {
        let dir = disk.mount.join("tablespace");
        std::fs::create_dir(&dir).unwrap();
        // The server's OS user must own the directory and reach it.
        let owned = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        let mut up = disk.mount.clone();
        while let Some(parent) = up.parent().map(Path::to_path_buf) {
            let _ = Command::new("chmod").arg("a+x").arg(&up).status();
            up = parent;
            if up == Path::new("/tmp") || up == Path::new("/") {
                break;
            }
        }
        let name = format!("lb_small_{:08x}", rand_suffix());
        let sql = format!("CREATE TABLESPACE {name} LOCATION '{}'", dir.display());
        if !(owned && Self::psql(admin, &sql)) {
            let _ = writeln!(
                std::io::stderr(),
                "skipped the full-tablespace test: PostgreSQL could not use a directory on the tmpfs \
                 (it must run on this machine as the OS user `postgres`)"
            );
            return None;
        }
        Some(SmallTablespace {
            name,
            admin: admin.to_owned(),
        })
    }
}

impl Drop for SmallTablespace {
    fn drop(&mut self) {
        if !Self::psql(
            &self.admin,
            &format!("DROP TABLESPACE IF EXISTS {}", self.name),
        ) {
            eprintln!("could not drop tablespace {}", self.name);
        }
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id()
}

#[tokio::test]
async fn a_full_tablespace_on_postgresql_pauses_writes_and_everything_completes_once_freed() {
    let Ok(admin) = std::env::var(test_support::postgres::TEST_URL_VAR) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped the full-tablespace test: set LOYALBATCH_TEST_POSTGRES_URL"
        );
        return;
    };
    let Some(disk) = Tmpfs::mount(24) else { return };
    let Some(space) = SmallTablespace::create(&disk, &admin) else {
        return;
    };
    let db = test_support::postgres::TestDatabase::create()
        .await
        .unwrap();
    let name = db.config().get_dbname().unwrap().to_owned();
    assert!(SmallTablespace::psql(
        &admin,
        &format!("ALTER DATABASE {name} SET TABLESPACE {}", space.name)
    ));
    let node = Node::start(&db.url(), &["--chunk-size", "5", "--workers", "2"], true);
    let batches = fill_wait_and_free(&node, &disk.mount).await;
    node.kill();
    let row = db
        .client()
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT transaction_id) FROM movements",
            &[],
        )
        .await
        .unwrap();
    let expected = 50 * batches as i64;
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1)),
        (expected, expected)
    );
    drop(db);
}
