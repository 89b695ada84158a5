//! `loyalbatch status|stop|wait|jobs` (the real binary) against a server started in the test.

use crate::common::*;
use serde_json::Value;
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_loyalbatch");

async fn cli(s: &TestServer, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args)
        .env("LOYALBATCH_SERVER", &s.url)
        .env("LOYALBATCH_APIKEY", &s.a.apikey)
        .env("LOYALBATCH_SECRETKEY", &s.a.secretkey)
        .env("LOYALBATCH_LOG", "warn");
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn jobs_status_stop_and_wait_over_http() {
    let s = TestServer::paused().await;
    let first = s.submit("customers", customers(3, "a")).await;
    let second = s.submit("customers", customers(2, "b")).await;

    let listed = json(&cli(&s, &["jobs", "--json"]).await);
    let ids: Vec<i64> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [second, first]);
    let human = cli(&s, &["jobs", "--status", "queued"]).await;
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.lines().count() == 3 && text.contains("customers") && text.contains("queued"),
        "{text}"
    );

    let status = json(&cli(&s, &["status", &first.to_string(), "--json"]).await);
    assert_eq!(
        (status["status"].clone(), status["itemCount"].clone()),
        ("queued".into(), 3.into())
    );

    let stopped = json(&cli(&s, &["stop", &second.to_string(), "--json"]).await);
    assert_eq!(stopped["status"], "stopped");
    let waited = cli(&s, &["wait", &second.to_string()]).await;
    assert_eq!(
        waited.status.code(),
        Some(2),
        "a stopped job is not a success"
    );
    assert!(
        String::from_utf8_lossy(&waited.stdout)
            .contains(&format!("job {second} (customers): stopped"))
    );

    s.drain().await;
    let waited = cli(&s, &["wait", &first.to_string(), "--json"]).await;
    assert_eq!(waited.status.code(), Some(0));
    let done: Value = serde_json::from_slice(&waited.stdout).unwrap();
    assert_eq!(done["finishedCount"], 3);

    let unknown = cli(&s, &["status", "999999"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("4004"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let no_keys = std::process::Command::new(BIN)
        .args(["jobs", "--server", &s.url])
        .env_remove("LOYALBATCH_APIKEY")
        .env_remove("LOYALBATCH_SECRETKEY")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&no_keys.stderr)
            .contains("--apikey (or LOYALBATCH_APIKEY) is required")
    );
}
