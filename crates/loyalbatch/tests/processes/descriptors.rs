//! A flood of connections against a real `loyalbatch serve` under a low
//! file-descriptor limit (`ulimit -n 256`): the connections and their overflow
//! are fitted under the limit with the process's own descriptors kept aside,
//! so `accept` never fails with EMFILE and the database keeps working.

use crate::node::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: usize = 256;

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

#[tokio::test]
async fn a_flood_of_connections_leaves_the_process_its_own_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fd.db").display());
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {LIMIT} && exec \"$0\" serve --listen 127.0.0.1:0 --database-url \"$1\" \
             --poll-interval 20ms --idle-timeout 1h --header-timeout 5m"
        ))
        .arg(BIN)
        .arg(&url)
        .env("LOYALBATCH_LOG", "warn")
        .env("LOYALBATCH_METRICS_LISTEN", "off")
        .env("LOYALBATCH_DEFAULT_APIKEY", APIKEY)
        .env("LOYALBATCH_DEFAULT_SECRETKEY", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut node = Node::listening(child);
    let pid = node.child.id();
    let addr = node.url.trim_start_matches("http://").to_owned();

    // More connections than the limit, all held open (silent: never timed out here).
    let mut flood = Vec::new();
    for _ in 0..LIMIT + 100 {
        flood.push(TcpStream::connect(&addr).await.unwrap());
    }
    // A probe behind them: once it is answered or closed, the server has
    // accepted (and kept, or closed) every connection before it.
    let mut probe = TcpStream::connect(&addr).await.unwrap();
    probe
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), probe.read_to_end(&mut answer))
        .await
        .expect("the probe is accepted")
        .ok();
    let open = open_descriptors(pid);
    assert!(
        open + 64 <= LIMIT,
        "{open} of {LIMIT} descriptors open: the reserve was taken by connections"
    );

    // The database still works while the flood is held: the served connections
    // are full, so the flood is let go first, then a job runs.
    drop(flood);
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let resp = client()
            .post(format!("{}{BASE}/batch/customers", node.url))
            .header("apikey", APIKEY)
            .header("secretkey", SECRET)
            .json(&json!({"body": [{"customerId": "after-the-flood"}]}))
            .send()
            .await;
        if let Ok(resp) = resp
            && resp.status() == StatusCode::OK
        {
            break resp.json::<serde_json::Value>().await.unwrap()["jobId"]
                .as_i64()
                .unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the server never took a job again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    loop {
        let (_, status) = call(
            &node.url,
            reqwest::Method::GET,
            &format!("/batch/{job}"),
            None,
        )
        .await;
        if status["status"] == "completed" {
            assert_eq!(status["finishedCount"], 1, "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut stderr = node.child.stderr.take().unwrap();
    node.kill();
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(
        !logs.contains("accepting a connection failed"),
        "accept ran out of descriptors:\n{logs}"
    );
    assert!(
        logs.contains("--max-connections lowered to fit the file-descriptor limit"),
        "{logs}"
    );
}
