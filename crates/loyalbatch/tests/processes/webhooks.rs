//! Webhooks across crashes and nodes: deliveries pending at a SIGKILL (failed
//! before, or never attempted; their endpoint paused) are all delivered after
//! the restart; two PostgreSQL nodes deliver every event, never
//! one event at once; the `tenant webhook` commands.

use crate::node::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;
use test_support::postgres::TestDatabase;
use test_support::receiver::{Answer, Receiver};

const FLAGS: [&str; 6] = [
    "--webhook-allow-private",
    "--webhook-first-retry",
    "100ms",
    "--webhook-timeout",
    "2s",
    "--chunk-size",
];

async fn register(url: &str, endpoint: &str) -> i64 {
    let (status, created) = call(
        url,
        Method::POST,
        "/webhooks",
        Some(json!({"url": endpoint})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

async fn deliveries(url: &str, webhook: i64) -> Vec<Value> {
    let (status, list) = call(
        url,
        Method::GET,
        &format!("/webhooks/{webhook}/deliveries?limit=200"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["deliveries"].as_array().unwrap().clone()
}

fn customers(job: usize) -> Vec<Value> {
    (0..3)
        .map(|i| json!({"customerId": format!("j{job}-{i}")}))
        .collect()
}

#[tokio::test]
async fn deliveries_pending_at_a_sigkill_are_delivered_after_the_restart() {
    const JOBS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("hooks.db").display());
    // Down at first: every attempt fails (some mid-answer when the kill comes).
    let receiver = Receiver::start(Box::new(|_, _| Answer {
        status: 503,
        delay: Duration::from_millis(30),
    }))
    .await;
    let node = Node::start(&db, &[&FLAGS[..], &["100"]].concat(), true);
    let hook = register(&node.url, &receiver.url).await;
    let mut jobs = Vec::new();
    for j in 0..JOBS {
        jobs.push(submit(&node.url, "customers", customers(j)).await);
    }
    // Three failures in a row pause the endpoint (its deliveries wait): some
    // events were attempted and failed, the others never were, when the kill comes.
    receiver
        .wait_until(Duration::from_secs(60), "three failed attempts", |r| {
            r.len() >= 3
        })
        .await;
    node.kill();
    assert!(receiver.delivered().is_empty());

    receiver.set_plan(Box::new(|_, _| Answer::ok()));
    let node = Node::start(&db, &[&FLAGS[..], &["100"]].concat(), true);
    receiver
        .wait_until(Duration::from_secs(60), "every event delivered", |r| {
            r.iter()
                .filter(|x| x.answered == 200)
                .map(|x| &x.event_id)
                .collect::<HashSet<_>>()
                .len()
                == JOBS
        })
        .await;
    let delivered = receiver.delivered();
    for job in &jobs {
        assert!(delivered.contains_key(&format!("evt_{job}")), "job {job}");
    }
    // The restarted node recorded them all (wait: records trail the answers a little).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = deliveries(&node.url, hook).await;
        if list.len() == JOBS && list.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_postgres_nodes_deliver_every_event_and_never_one_at_once() {
    const JOBS: usize = 60;
    let Some(db) = TestDatabase::create().await else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped a multi-node webhook test: set LOYALBATCH_TEST_POSTGRES_URL"
        );
        return;
    };
    // A slow receiver: each answer takes 50 ms, so overlapping claims would show.
    let receiver = Receiver::start(Box::new(|_, _| Answer {
        status: 200,
        delay: Duration::from_millis(50),
    }))
    .await;
    // The default 10 s timeout: a loaded machine never times an attempt out here.
    let flags = [
        "--webhook-allow-private",
        "--webhook-first-retry",
        "100ms",
        "--chunk-size",
        "100",
    ];
    let a = Node::start(&db.url(), &flags, true);
    let b = Node::start(&db.url(), &flags, true);
    let hook = register(&a.url, &receiver.url).await;
    let mut jobs = Vec::new();
    for j in 0..JOBS {
        let node = if j % 2 == 0 { &a } else { &b };
        jobs.push(submit(&node.url, "customers", customers(j)).await);
    }
    receiver
        .wait_until(Duration::from_secs(60), "every event", |r| {
            r.iter().map(|x| &x.event_id).collect::<HashSet<_>>().len() == JOBS
        })
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = deliveries(&b.url, hook).await;
        if list.len() == JOBS && list.iter().all(|d| d["status"] == "delivered") {
            assert!(list.iter().all(|d| d["attempts"] == 1), "{list:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = receiver.received();
    assert!(
        received.iter().all(|r| r.concurrent == 0),
        "an event was being delivered twice at once"
    );
    assert_eq!(received.len(), JOBS, "each event once");
    for job in &jobs {
        assert_eq!(receiver.delivered()[&format!("evt_{job}")], 1);
    }
}

fn cli(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--database-url")
        .arg(db)
        .env("LOYALBATCH_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn tenant_webhook_commands_add_list_and_remove_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    assert!(cli(&db, &["tenant", "create", "acme"]).status.success());

    let out = cli(
        &db,
        &[
            "tenant",
            "webhook",
            "add",
            "acme",
            "http://127.0.0.1:9/hook",
            "--event",
            "batch.failed",
            "--allow-private",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["url"], "http://127.0.0.1:9/hook");
    assert_eq!(added["events"], json!(["batch.failed"]));
    let secret = added["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let id = added["id"].as_i64().unwrap();

    // Without --allow-private a loopback address is refused, naming the rule.
    let out = cli(
        &db,
        &["tenant", "webhook", "add", "acme", "http://127.0.0.1:9/x"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a public address"));
    let out = cli(
        &db,
        &[
            "tenant",
            "webhook",
            "add",
            "acme",
            "https://93.184.215.14/",
            "--event",
            "batch.done",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("events[0]: unknown event"));
    let out = cli(
        &db,
        &[
            "tenant",
            "webhook",
            "add",
            "nobody",
            "https://93.184.215.14/",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant named 'nobody'"));

    let out = cli(&db, &["tenant", "webhook", "list", "acme", "--json"]);
    assert!(out.status.success());
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));

    let id_text = id.to_string();
    assert!(
        cli(&db, &["tenant", "webhook", "remove", "acme", &id_text])
            .status
            .success()
    );
    let again = cli(&db, &["tenant", "webhook", "remove", "acme", &id_text]);
    assert!(!again.status.success());
    let out = cli(&db, &["tenant", "webhook", "list", "acme", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!([])
    );
}
