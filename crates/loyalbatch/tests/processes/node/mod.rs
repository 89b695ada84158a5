//! Real `loyalbatch serve` processes for tests: start one on a database URL, read its address, SIGKILL or SIGTERM it; small HTTP helpers.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};

use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_loyalbatch");
pub const BASE: &str = "/api/v4.0/integrations";
pub const APIKEY: &str = "test-apikey-0123456789";
pub const SECRET: &str = "test-secretkey-0123456789abcdef01234567";

/// One `loyalbatch serve` process.
pub struct Node {
    pub child: Child,
    pub url: String,
    /// The metrics endpoint (`http://…/metrics`) when the node serves one.
    pub metrics: Option<String>,
    pub stdout: Receiver<String>,
}

impl Node {
    pub fn start(database_url: &str, extra: &[&str], keys_from_env: bool) -> Node {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--database-url")
            .arg(database_url)
            .args(["--poll-interval", "20ms"])
            .args(extra)
            .env("LOYALBATCH_METRICS_LISTEN", "127.0.0.1:0")
            .env("LOYALBATCH_LOG", "warn")
            .env_remove("LOYALBATCH_DEFAULT_APIKEY")
            .env_remove("LOYALBATCH_DEFAULT_SECRETKEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if keys_from_env {
            cmd.env("LOYALBATCH_DEFAULT_APIKEY", APIKEY)
                .env("LOYALBATCH_DEFAULT_SECRETKEY", SECRET);
        }
        Node::listening(cmd.spawn().expect("the binary starts"))
    }

    /// A `serve` process spawned with piped stdout, once it says where it listens.
    pub fn listening(mut child: Child) -> Node {
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut node = Node {
            child,
            url: String::new(),
            metrics: None,
            stdout: rx,
        };
        // The metrics address is printed just before the API's.
        loop {
            let line = node.line_starting("loyalbatch ");
            if let Some(url) = line.trim().strip_prefix("loyalbatch metrics on ") {
                node.metrics = Some(url.to_owned());
            }
            if let Some(url) = line.trim().strip_prefix("loyalbatch listening on ") {
                node.url = url.to_owned();
                return node;
            }
        }
    }

    /// The next stdout line with this prefix (lines before it are dropped).
    pub fn line_starting(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .stdout
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line starting {prefix:?}"));
            if line.trim_start().starts_with(prefix) {
                return line;
            }
        }
    }

    /// SIGKILL: no chance to finish or release anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    pub fn terminate_and_wait(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn submit_events(url: &str, job_no: usize, items: usize) -> i64 {
    let body: Vec<Value> = (0..items)
        .map(|i| json!({"customerId": format!("c{}", i % 97), "events": {"purchase": {"job": job_no, "i": i}}}))
        .collect();
    submit(url, "events", body).await
}

pub async fn jobs(url: &str) -> Vec<Value> {
    let resp = client()
        .get(format!("{url}{BASE}/batch?limit=200"))
        .header("apikey", APIKEY)
        .header("secretkey", SECRET)
        .send()
        .await
        .unwrap();
    resp.json::<Value>().await.unwrap()["jobs"]
        .as_array()
        .unwrap()
        .clone()
}

pub async fn processed(url: &str) -> u64 {
    jobs(url)
        .await
        .iter()
        .map(|j| j["totalCount"].as_u64().unwrap())
        .sum()
}

/// Polls until `done(sum of processed items)` (deadline, never a fixed sleep).
pub async fn wait_processed(url: &str, done: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = processed(url).await;
        if done(n) {
            return n;
        }
        assert!(Instant::now() < deadline, "stuck at {n} processed items");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl Node {
    /// Starts with generated default keys and returns before reading any output.
    pub fn start_without_listen_wait(database_url: &str) -> Node {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(database_url)
            .env("LOYALBATCH_METRICS_LISTEN", "127.0.0.1:0")
            .env("LOYALBATCH_LOG", "warn")
            .env_remove("LOYALBATCH_DEFAULT_APIKEY")
            .env_remove("LOYALBATCH_DEFAULT_SECRETKEY")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Node {
            child,
            url: String::new(),
            metrics: None,
            stdout: rx,
        }
    }
}

/// Submits a batch of any type with the default keys; returns its job id.
pub async fn submit(url: &str, batch_type: &str, body: Vec<Value>) -> i64 {
    let resp = client()
        .post(format!("{url}{BASE}/batch/{batch_type}"))
        .header("apikey", APIKEY)
        .header("secretkey", SECRET)
        .json(&json!({ "body": body }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<Value>().await.unwrap()["jobId"]
        .as_i64()
        .unwrap()
}

/// A single call with the default keys: status and body.
pub async fn call(
    url: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client()
        .request(method, format!("{url}{BASE}{path}"))
        .header("apikey", APIKEY)
        .header("secretkey", SECRET);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A customer's available points, read through the API.
pub async fn available_points(url: &str, customer: &str) -> i64 {
    let (status, b) = call(
        url,
        reqwest::Method::GET,
        &format!("/customers/{customer}/balance"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    b["availablePointsBalance"].as_i64().unwrap()
}

/// Every event of a job's stream (`GET /batch/{job}/events`) until the server
/// ends it: (event, id, data).
pub async fn job_events(url: &str, job: i64) -> Vec<(String, String, Value)> {
    let mut resp = client()
        .get(format!("{url}{BASE}/batch/{job}/events"))
        .header("apikey", APIKEY)
        .header("secretkey", SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut events = Vec::new();
    let mut buf = String::new();
    let read = async {
        while let Some(chunk) = resp.chunk().await.unwrap() {
            buf.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_owned())
                };
                if let Some(event) = field("event:") {
                    let data = serde_json::from_str(&field("data:").unwrap_or_default()).unwrap();
                    events.push((event, field("id:").unwrap_or_default(), data));
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the stream ends within 60 s");
    events
}
