//! The bulk import client end to end: `loyalbatch import` (the real binary) against a server started in the test.

mod hostile_sizes;
mod hostile_text;
mod killed;

use crate::common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_loyalbatch");

fn import_command(
    s: &TestServer,
    batch_type: &str,
    file: &Path,
    out: &Path,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["import", batch_type])
        .arg(file)
        .arg("--out")
        .arg(out)
        .args([
            "--server",
            &s.url,
            "--apikey",
            &s.a.apikey,
            "--secretkey",
            &s.a.secretkey,
            "--quiet",
        ])
        .args(extra)
        .env("LOYALBATCH_LOG", "warn");
    cmd
}

/// Runs an import to its end (off the async threads, so the server keeps serving).
async fn import(
    s: &TestServer,
    batch_type: &str,
    file: &Path,
    out: &Path,
    extra: &[&str],
) -> Output {
    let mut cmd = import_command(s, batch_type, file, out, extra);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}
/// Asserts the import's exit code, showing its output if not; returns its stdout.
fn exit_code_is(done: &Output, code: i32) -> String {
    let summary = String::from_utf8_lossy(&done.stdout).into_owned();
    assert_eq!(
        done.status.code(),
        Some(code),
        "{summary}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    summary
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn ndjson(path: &Path) -> Vec<Value> {
    lines(path)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_csv_with_bad_rows_gives_exact_per_row_results() {
    let s = TestServer::running().await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from(
        "customerId,email,customerAttributes.city,customerAttributes.dateOfBirth,tags,guest\n",
    );
    let mut bad = Vec::new();
    for row in 1..=20_000u64 {
        let (id, dob) = match row {
            r if r % 997 == 0 => (String::new(), "1990-01-01"),
            r if r % 1499 == 0 => (format!("c{r}"), "1990-02-30"),
            r => (format!("c{r}"), "1990-01-01"),
        };
        if id.is_empty() || dob == "1990-02-30" {
            bad.push(row);
        }
        csv.push_str(&format!(
            "{id},c{row}@x.io,Cairo,{dob},vip;app,{}\n",
            row % 2 == 0
        ));
    }
    let file = write(dir.path(), "customers.csv", &csv);
    let out = dir.path().join("out");
    let done = import(&s, "customers", &file, &out, &[]).await;
    let summary = exit_code_is(&done, 2);
    assert!(
        summary.starts_with(&format!(
            "20000 rows: {} succeeded, {} failed ({} refused before sending)",
            20_000 - bad.len(),
            bad.len(),
            bad.len()
        )),
        "{summary}"
    );

    let ok = ndjson(&out.join("successful.ndjson"));
    let rows: Vec<u64> = ok.iter().map(|e| e["row"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=20_000).filter(|r| !bad.contains(r)).collect();
    assert_eq!(rows, expected, "one line per succeeded row, in row order");
    assert_eq!(ok[0]["customerId"], "c1");
    assert_eq!(ok[0]["message"], "Customer created successfully");
    assert!(ok[0]["gameballId"].as_i64().is_some() && ok[0]["jobId"].as_i64().is_some());

    let failed = lines(&out.join("failed.csv"));
    assert_eq!(
        failed[0],
        "customerId,email,customerAttributes.city,customerAttributes.dateOfBirth,tags,guest,row,code,error"
    );
    assert_eq!(failed.len(), bad.len() + 1);
    assert_eq!(
        failed[1],
        ",c997@x.io,Cairo,1990-01-01,vip;app,false,997,3000,customerId: required"
    );
    assert_eq!(
        failed[2],
        "c1499,c1499@x.io,Cairo,1990-02-30,vip;app,false,1499,3003,customerAttributes.dateOfBirth: not a date (YYYY-MM-DD)"
    );
    // The stored profile got typed values from the CSV cells.
    let (_, profile) = read(
        s.as_a(reqwest::Method::GET, &format!("{BASE}/customers/c2"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (
            profile["guest"].clone(),
            profile["customerAttributes"]["tags"].clone()
        ),
        (json!(true), json!(["vip", "app"]))
    );
}

#[tokio::test]
async fn server_side_failures_land_in_failed_csv_with_their_code() {
    let s = TestServer::running().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "cashback.csv",
        "customerId,transactionId,transactionTime,amount,configurations.returnWindow\n\
         a,t1,2025-01-01T00:00:00Z,10.5,\n\
         b,t1,2025-01-01T00:00:00Z,3,\n\
         c,t2,2999-01-01T00:00:00Z,3,\n\
         d,t3,2025-01-01T00:00:00Z,abc,\n\
         e,t4,2025-01-01T00:00:00Z,7,2\n",
    );
    let out = dir.path().join("out");
    let done = import(&s, "cashback", &file, &out, &[]).await;
    exit_code_is(&done, 2);
    let ok = ndjson(&out.join("successful.ndjson"));
    assert_eq!(ok.len(), 2);
    assert_eq!(
        (
            ok[0]["row"].clone(),
            ok[0]["rewardEquivalentPoints"].clone()
        ),
        (json!(1), json!(10))
    );
    assert_eq!(ok[1]["row"], 5);
    assert_eq!(
        lines(&out.join("failed.csv"))[1..],
        [
            "b,t1,2025-01-01T00:00:00Z,3,,2,9004,\"transactionId: \"\"t1\"\" was already used in this account\"",
            "c,t2,2999-01-01T00:00:00Z,3,,3,9007,transactionTime: more than 5 minutes in the future",
            "d,t3,2025-01-01T00:00:00Z,abc,,4,3003,amount: must be a number",
        ]
    );
}

#[tokio::test]
async fn importing_the_same_file_twice_creates_no_new_jobs() {
    let s = TestServer::running().await;
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<String> = (0..2500)
        .map(|i| json!({"customerId": format!("c{i}")}).to_string())
        .collect();
    let file = write(dir.path(), "customers.ndjson", &(body.join("\n") + "\n"));
    let first = import(&s, "customers", &file, &dir.path().join("one"), &[]).await;
    exit_code_is(&first, 0);
    assert_eq!(s.job_count(&s.a).await, 3);
    let second = import(&s, "customers", &file, &dir.path().join("two"), &[]).await;
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(
        s.job_count(&s.a).await,
        3,
        "the idempotency keys answered the same jobs"
    );
    assert_eq!(
        std::fs::read(dir.path().join("one/successful.ndjson")).unwrap(),
        std::fs::read(dir.path().join("two/successful.ndjson")).unwrap()
    );
}

#[tokio::test]
async fn json_and_ndjson_inputs_with_bad_items() {
    let s = TestServer::running().await;
    let dir = tempfile::tempdir().unwrap();
    let array = write(
        dir.path(),
        "events.json",
        r#"[{"customerId": "a", "events": {"login": {}}}, {"customerId": "b", "events": {}}, {"customerId": "c", "events": {"view": {"page": 1}}}]"#,
    );
    let out = dir.path().join("json");
    let done = import(&s, "events", &array, &out, &[]).await;
    assert_eq!(done.status.code(), Some(2));
    assert_eq!(ndjson(&out.join("successful.ndjson")).len(), 2);
    assert_eq!(
        lines(&out.join("failed.csv")),
        [
            "row,code,error,item",
            "2,3003,events: must name at least one event,\"{\"\"customerId\"\": \"\"b\"\", \"\"events\"\": {}}\""
        ]
    );
    assert_eq!(
        lines(&out.join("failed.ndjson")),
        [r#"{"customerId": "b", "events": {}}"#]
    );

    let lines_file = write(
        dir.path(),
        "customers.jsonl",
        "{\"customerId\": \"x\"}\n\nnot json\n{\"customerId\": \"y\"}\n",
    );
    let out = dir.path().join("ndjson");
    let done = import(&s, "customers", &lines_file, &out, &[]).await;
    assert_eq!(done.status.code(), Some(2));
    let rows: Vec<Value> = ndjson(&out.join("successful.ndjson"))
        .iter()
        .map(|e| e["row"].clone())
        .collect();
    assert_eq!(rows, [json!(1), json!(3)]);
    let failed = lines(&out.join("failed.csv"));
    assert!(
        failed[1].starts_with("2,3016,\"line 3, column 2: not JSON ("),
        "the line of the file is named: {failed:?}"
    );
}

#[tokio::test]
async fn a_full_queue_is_waited_out() {
    let mut options = Options {
        workers_running: true,
        ..Options::default()
    };
    options.app.queue_limit = 1500;
    options.app.queue_retry_after = Duration::from_secs(1);
    let s = TestServer::start(options).await;
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<String> = (0..6000)
        .map(|i| json!({"customerId": format!("c{i}")}).to_string())
        .collect();
    let file = write(dir.path(), "customers.ndjson", &body.join("\n"));
    let done = import(
        &s,
        "customers",
        &file,
        &dir.path().join("out"),
        &["--parallel", "4"],
    )
    .await;
    let summary = exit_code_is(&done, 0);
    assert!(
        summary.contains("requests waited for a full queue (429)"),
        "{summary}"
    );
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 6000);
}

#[tokio::test]
async fn an_import_killed_midway_resumes_and_applies_every_adjustment_once() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let customers = customers(100, "c");
    s.submit("customers", customers).await;
    s.drain().await;
    let mut csv = String::from("customerId,amount,reason\n");
    let mut expected = vec![0i64; 100];
    for row in 0..20_000usize {
        let (c, points) = (row * 7 % 100, (row % 13 + 1) as i64);
        expected[c] += points;
        csv.push_str(&format!("c{c},{points},import {row}\n"));
    }
    let file = write(dir.path(), "adjustments.csv", &csv);
    let out = dir.path().join("out");
    // No worker runs yet: the import submits its 20 chunks ahead, records them, and waits.
    let mut child = import_command(
        &s,
        "balance-adjustment",
        &file,
        &out,
        &["--chunk-size", "100", "--ahead", "20"],
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let state = out.join("import-state.ndjson");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !state.exists() || lines(&state).len() < 21 {
        assert!(
            Instant::now() < deadline,
            "the import never recorded 20 chunks"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(s.job_count(&s.a).await, 1 + 20);

    // Workers on, the same command again: it resumes and finishes.
    let engine = tokio::spawn(s.engine.clone().run(engine::Shutdown::new()));
    let done = import(
        &s,
        "balance-adjustment",
        &file,
        &out,
        &["--chunk-size", "100", "--ahead", "20"],
    )
    .await;
    exit_code_is(&done, 0);
    engine.abort();
    let jobs = s
        .store
        .list_jobs(
            s.store
                .tenant_by_apikey(&s.a.apikey)
                .await
                .unwrap()
                .unwrap()
                .id,
            &store::JobFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1 + 200, "every chunk became exactly one job");
    for (c, points) in expected.iter().enumerate() {
        let (_, b) = read(
            s.as_a(
                reqwest::Method::GET,
                &format!("{BASE}/customers/c{c}/balance"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(b["availablePointsBalance"], *points, "c{c}");
    }
    assert_eq!(s.count_rows("SELECT count(*) FROM movements").await, 20_000);
    assert_eq!(ndjson(&out.join("successful.ndjson")).len(), 20_000);
}

#[tokio::test]
async fn a_fatal_refusal_stops_the_import_with_exit_1_and_the_server_message() {
    let s = TestServer::running().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "c.ndjson", "{\"customerId\": \"a\"}\n");
    let mut cmd = Command::new(BIN);
    cmd.args(["import", "customers"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args([
            "--server",
            &s.url,
            "--apikey",
            &s.a.apikey,
            "--secretkey",
            "wrong",
            "--quiet",
        ]);
    let done = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(done.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("code 1000"),
        "{stderr}"
    );
    assert_eq!(s.job_count(&s.a).await, 0);
}
