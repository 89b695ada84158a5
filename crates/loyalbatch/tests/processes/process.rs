//! Process-level tests of the real binary: SIGKILL mid-workload and exactly-once resume, clean SIGTERM, the tenant CLI.

use crate::node::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn sqlite_url(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("loyalbatch.db")
}

#[tokio::test]
async fn sigkill_mid_workload_then_restart_processes_every_item_exactly_once() {
    const JOBS: usize = 12;
    const ITEMS: usize = 500;
    let total = (JOBS * ITEMS) as u64;
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    // Small chunks and a short lease: many commits to interrupt, quick takeover after a kill.
    let flags = ["--chunk-size", "20", "--lease", "1s", "--workers", "2"];
    let node = Node::start(&sqlite_url(&db), &flags, true);
    let mut ids = Vec::new();
    for j in 0..JOBS {
        ids.push(submit_events(&node.url, j, ITEMS).await);
    }
    let mut node = node;
    let mut kills = Vec::new();
    for fraction in [5, 2] {
        let seen = wait_processed(&node.url, |n| n >= total / fraction as u64 && n < total).await;
        kills.push(seen);
        node.kill();
        node = Node::start(&sqlite_url(&db), &flags, true);
    }
    wait_processed(&node.url, |n| n == total).await;
    for job in jobs(&node.url).await {
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(
            (
                job["totalCount"].as_u64(),
                job["finishedCount"].as_u64(),
                job["errorCount"].as_u64()
            ),
            (Some(ITEMS as u64), Some(ITEMS as u64), Some(0))
        );
    }
    // Every item's result is reported once, in order.
    for id in &ids {
        let status: Value = client()
            .get(format!("{}{BASE}/batch/{id}", node.url))
            .header("apikey", APIKEY)
            .header("secretkey", SECRET)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let indexes: Vec<u64> = status["response"]["successful"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect();
        assert_eq!(indexes, (0..ITEMS as u64).collect::<Vec<_>>(), "job {id}");
    }
    node.kill();
    // Events are append-only: each item wrote exactly one row, no more, no less.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT json_extract(metadata, '$.job') || '/' || json_extract(metadata, '$.i')) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (rows as u64, distinct as u64),
        (total, total),
        "killed at {kills:?} processed items"
    );
    let customers: i64 = conn
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(customers, 97);
}

#[tokio::test]
async fn sigterm_finishes_the_current_chunk_releases_the_job_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let node = Node::start(
        &sqlite_url(&db),
        &["--chunk-size", "5", "--workers", "1"],
        true,
    );
    let job = submit_events(&node.url, 0, 1000).await;
    wait_processed(&node.url, |n| n >= 20).await;
    let status = node.terminate_and_wait();
    assert!(status.success(), "exit status {status}");
    // An hour-long lease: only a released job can be picked up again at once.
    let node = Node::start(&sqlite_url(&db), &["--lease", "1h"], true);
    wait_processed(&node.url, |n| n == 1000).await;
    let all = jobs(&node.url).await;
    assert_eq!(
        (all[0]["jobId"].as_i64(), all[0]["status"].as_str()),
        (Some(job), Some("completed"))
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1000);
}

fn cli(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .env("LOYALBATCH_LOG", "warn")
        .output()
        .unwrap()
}

async fn batch_status_with(url: &str, apikey: &str, secret: &str) -> StatusCode {
    client()
        .post(format!("{url}{BASE}/batch/customers"))
        .header("apikey", apikey)
        .header("secretkey", secret)
        .json(&json!({"body": [{"customerId": "x"}]}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn tenant_commands_work_on_the_database_of_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let node = Node::start(&sqlite_url(&db), &[], true);

    let out = cli(&db, &["tenant", "create", "acme", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["name"], "acme");
    let (apikey, secret) = (
        created["apikey"].as_str().unwrap(),
        created["secretkey"].as_str().unwrap(),
    );
    assert_eq!(
        batch_status_with(&node.url, apikey, secret).await,
        StatusCode::OK
    );

    let dup = cli(&db, &["tenant", "create", "acme"]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let list = cli(&db, &["tenant", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "acme"]);
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(secret),
        "list never shows secrets"
    );

    let rotated = cli(&db, &["tenant", "rotate-secret", "acme", "--json"]);
    assert!(rotated.status.success());
    let new_secret = serde_json::from_slice::<Value>(&rotated.stdout).unwrap()["secretkey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);
    // The server caches tenants: a change made by another process is seen
    // within the documented bound.
    tokio::time::sleep(app::TENANT_CHANGES_SEEN_WITHIN).await;
    assert_eq!(
        batch_status_with(&node.url, apikey, secret).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        batch_status_with(&node.url, apikey, &new_secret).await,
        StatusCode::OK
    );
    assert!(
        !cli(&db, &["tenant", "rotate-secret", "ghost"])
            .status
            .success()
    );
}

#[tokio::test]
async fn an_empty_database_gets_a_default_tenant_whose_generated_keys_are_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let mut first = Node::start_without_listen_wait(&sqlite_url(&db));
    let apikey = first
        .line_starting("apikey:")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let secret = first
        .line_starting("secretkey:")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let listening = first.line_starting("loyalbatch listening on ");
    let url = listening
        .trim_start_matches("loyalbatch listening on ")
        .to_owned();
    assert_eq!(
        batch_status_with(&url, &apikey, &secret).await,
        StatusCode::OK
    );
    first.kill();
    // Second start: the tenant exists, nothing is printed, the keys still work.
    let mut cmd_out = Node::start_without_listen_wait(&sqlite_url(&db));
    let line = cmd_out.line_starting("loyalbatch listening on ");
    let url = line
        .trim_start_matches("loyalbatch listening on ")
        .to_owned();
    assert!(cmd_out.stdout.try_iter().all(|l| !l.contains("secretkey")));
    assert_eq!(
        batch_status_with(&url, &apikey, &secret).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tenant_config_shows_validates_and_changes_the_program_of_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let node = Node::start(&sqlite_url(&db), &[], true);
    let shown = cli(&db, &["tenant", "config", "default", "--json"]);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let settings: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(settings["redemptionFactor"], json!(0.1));
    assert_eq!(settings["holdExpiryMinutes"], 10);
    assert_eq!(settings["pointsExpiryDays"], Value::Null);

    let changed = cli(
        &db,
        &[
            "tenant",
            "config",
            "default",
            "--redemption-factor",
            "0.25",
            "--points-name",
            "Stars",
            "--points-expiry-days",
            "90",
            "--event-reward",
            "review=15",
            "--high-security",
            "false",
            "--json",
        ],
    );
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let settings: Value = serde_json::from_slice(&changed.stdout).unwrap();
    assert_eq!(settings["pointsName"], "Stars");
    assert_eq!(settings["eventRewards"], json!({"review": 15}));
    // The running server reads the new program at once: with highSecurity
    // off, an upsert takes the apikey alone; the settings still need the secret.
    let upsert = client()
        .post(format!("{}{BASE}/customers", node.url))
        .header("apikey", APIKEY)
        .json(&json!({"customerId": "sdk-client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        upsert.status(),
        StatusCode::OK,
        "highSecurity is off: the apikey is enough"
    );
    let (status, body) = call(
        &node.url,
        reqwest::Method::GET,
        "/configurations/redemption",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["redemptionFactor"].clone(), body["pointsName"].clone()),
        (json!(0.25), json!("Stars"))
    );

    let bad = cli(
        &db,
        &["tenant", "config", "default", "--hold-expiry-minutes", "0"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("holdExpiryMinutes: must be 1–21600"));
    let human = cli(
        &db,
        &[
            "tenant",
            "config",
            "default",
            "--points-expiry-days",
            "none",
        ],
    );
    assert!(String::from_utf8_lossy(&human.stdout).contains("pointsExpiryDays:      none"));
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("redemptionFactor:      0.25"),
        "unchanged settings stay"
    );
    assert!(!cli(&db, &["tenant", "config", "ghost"]).status.success());
}
