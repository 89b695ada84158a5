//! Several `loyalbatch serve` processes on one PostgreSQL database (when `LOYALBATCH_TEST_POSTGRES_URL` is set).

use crate::node::*;
use reqwest::StatusCode;
use serde_json::Value;
use test_support::postgres::TestDatabase;

/// A database of its own, or `None` (and a visible skip) without PostgreSQL.
async fn database() -> Option<TestDatabase> {
    let db = TestDatabase::create().await;
    if db.is_none() {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped a multi-node test: set LOYALBATCH_TEST_POSTGRES_URL"
        );
    }
    db
}

/// Events rows and distinct (job, item) pairs among them.
async fn event_rows(db: &TestDatabase) -> (i64, i64) {
    let row = db
        .client()
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT (metadata::json->>'job') || '/' || (metadata::json->>'i')) FROM events",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn jobs_submitted_to_any_node_all_complete_exactly_once() {
    let Some(db) = database().await else { return };
    let flags = ["--chunk-size", "50"];
    let a = Node::start(&db.url(), &flags, true);
    let b = Node::start(&db.url(), &flags, true);
    for j in 0..6 {
        let node = if j % 2 == 0 { &a } else { &b };
        submit_events(&node.url, j, 500).await;
    }
    wait_processed(&a.url, |n| n == 3000).await;
    for job in jobs(&b.url).await {
        assert_eq!(
            (job["status"].as_str(), job["finishedCount"].as_u64()),
            (Some("completed"), Some(500)),
            "{job}"
        );
    }
    assert_eq!(event_rows(&db).await, (3000, 3000));
}

#[tokio::test]
async fn a_node_killed_mid_job_leaves_its_jobs_to_the_others_and_every_item_applies_once() {
    let Some(db) = database().await else { return };
    let flags = ["--chunk-size", "20", "--lease", "1s"];
    let a = Node::start(&db.url(), &flags, true);
    for j in 0..8 {
        submit_events(&a.url, j, 500).await;
    }
    let b = Node::start(&db.url(), &flags, true);
    let seen = wait_processed(&b.url, |n| (800..4000).contains(&n)).await;
    a.kill();
    wait_processed(&b.url, |n| n == 4000).await;
    for job in jobs(&b.url).await {
        assert_eq!(job["status"], "completed", "{job}");
    }
    assert_eq!(
        event_rows(&db).await,
        (4000, 4000),
        "node A was killed at {seen} processed items"
    );
}

#[tokio::test]
async fn a_stop_sent_to_one_node_halts_the_job_running_on_another() {
    let Some(db) = database().await else { return };
    // Node A alone claims the job; B starts afterwards and cannot take it while A's lease holds.
    let a = Node::start(&db.url(), &["--chunk-size", "1"], true);
    let job = submit_events(&a.url, 0, 1000).await;
    wait_processed(&a.url, |n| (10..1000).contains(&n)).await;
    let b = Node::start(&db.url(), &[], true);
    let resp = client()
        .post(format!("{}{BASE}/batches/{job}/stop", b.url))
        .header("apikey", APIKEY)
        .header("secretkey", SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let status: Value = client()
        .get(format!("{}{BASE}/batch/{job}", b.url))
        .header("apikey", APIKEY)
        .header("secretkey", SECRET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "stopped");
    let processed = status["totalCount"].as_i64().unwrap();
    assert!(processed < 1000);
    // Let node A finish whatever it was doing, then look at the rows.
    assert!(a.terminate_and_wait().success());
    assert_eq!(
        event_rows(&db).await.0,
        processed,
        "no item applied after the stop's 200"
    );
    drop(b);
}

#[tokio::test]
async fn nodes_started_together_on_an_empty_database_all_come_up_with_one_default_tenant() {
    let Some(db) = database().await else { return };
    let url = db.url();
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Node::start(&url, &[], true))
        })
        .collect();
    let nodes: Vec<Node> = starting.into_iter().map(|t| t.join().unwrap()).collect();
    for node in &nodes {
        let resp = client()
            .get(format!("{}/ready", node.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let tenants: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM tenants", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tenants, 1);
    // Any node serves the one tenant.
    for node in &nodes {
        let job = submit_events(&node.url, 0, 1).await;
        assert!(job > 0);
    }
}

#[tokio::test]
async fn concurrent_redemptions_through_different_nodes_never_overspend() {
    let Some(db) = database().await else { return };
    let flags = ["--chunk-size", "3", "--workers", "4"];
    let a = Node::start(&db.url(), &flags, true);
    let b = Node::start(&db.url(), &flags, true);
    let (status, _) = call(&a.url, reqwest::Method::POST, "/transactions/manual", Some(serde_json::json!({
        "customerId": "c", "transactionId": "seed", "username": "t", "reason": "seed", "points": 1000
    }))).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the customer does not exist yet"
    );
    submit(
        &a.url,
        "customers",
        vec![serde_json::json!({"customerId": "c"})],
    )
    .await;
    wait_processed(&a.url, |n| n == 1).await;
    let (status, _) = call(&a.url, reqwest::Method::POST, "/transactions/manual", Some(serde_json::json!({
        "customerId": "c", "transactionId": "seed", "username": "t", "reason": "seed", "points": 1000
    }))).await;
    assert_eq!(status, StatusCode::OK);
    // 2,000 points asked for in 20-point redemptions: four jobs split over the two
    // nodes, and 25 single calls to each node, all at once.
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let redeem = |id: String| serde_json::json!({"customerId": "c", "transactionId": id, "transactionTime": now, "points": 20});
    for j in 0..4 {
        let node = if j % 2 == 0 { &a } else { &b };
        submit(
            &node.url,
            "redeem",
            (0..12).map(|i| redeem(format!("job{j}-{i}"))).collect(),
        )
        .await;
    }
    let singles = (0..52).map(|i| {
        let url = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let body = redeem(format!("single-{i}"));
        async move {
            call(
                &url,
                reqwest::Method::POST,
                "/transactions/redeem",
                Some(body),
            )
            .await
            .0
        }
    });
    let statuses = futures::future::join_all(singles).await;
    wait_processed(&a.url, |n| n == 1 + 48).await;
    let single_ok = statuses.iter().filter(|s| **s == StatusCode::OK).count() as i64;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    let batch_ok: i64 = jobs(&a.url)
        .await
        .iter()
        .filter(|j| j["type"] == "redeem")
        .map(|j| j["finishedCount"].as_i64().unwrap())
        .sum();
    // Every refusal happened below 20 points, so exactly 50 redemptions got through.
    assert_eq!(
        single_ok + batch_ok,
        50,
        "{single_ok} single + {batch_ok} batch"
    );
    assert_eq!(available_points(&b.url, "c").await, 0);
    let spent: i64 = db
        .client()
        .await
        .query_one(
            "SELECT (-sum(points))::BIGINT FROM movements WHERE kind = 'redemption'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, Option<i64>>(0)
        .unwrap();
    assert_eq!(spent, 1000);
}

#[tokio::test]
async fn a_jobs_event_stream_on_another_node_follows_it_to_the_end() {
    let Some(db) = database().await else {
        return;
    };
    // Every node runs workers: whichever claims the job, the other node's
    // stream follows commits made elsewhere. Both streams are followed.
    let a = Node::start(&db.url(), &["--chunk-size", "10", "--workers", "1"], true);
    let b = Node::start(&db.url(), &["--chunk-size", "10", "--workers", "1"], true);
    let body: Vec<Value> = (0..100)
        .map(|i| serde_json::json!({"customerId": format!("s{i}")}))
        .collect();
    let job = submit(&a.url, "customers", body).await;
    let (on_a, on_b) = tokio::join!(job_events(&a.url, job), job_events(&b.url, job));
    for events in [on_a, on_b] {
        let (last, progress) = events.split_last().expect("events");
        assert_eq!((last.0.as_str(), last.1.as_str()), ("completed", "final"));
        assert_eq!(last.2["finishedCount"], 100);
        let counts: Vec<u64> = progress
            .iter()
            .map(|(_, _, d)| d["totalCount"].as_u64().unwrap())
            .collect();
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
        assert!(
            counts.iter().all(|c| c % 10 == 0),
            "chunk boundaries: {counts:?}"
        );
    }
}

/// An authenticated call's status: the tenant's job list with these keys.
async fn list_status(url: &str, apikey: &str, secret: Option<&str>) -> StatusCode {
    let mut req = client()
        .post(format!("{url}{BASE}/customers"))
        .header("apikey", apikey)
        .json(&serde_json::json!({"customerId": "cache-probe"}));
    if let Some(s) = secret {
        req = req.header("secretkey", s);
    }
    req.send().await.unwrap().status()
}

fn cli(db: &TestDatabase, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(BIN)
        .args(args)
        .args(["--database-url", &db.url()])
        .env("LOYALBATCH_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn a_secret_rotated_or_a_setting_changed_by_the_cli_holds_on_every_node_within_the_bound() {
    let Some(db) = database().await else { return };
    let a = Node::start(&db.url(), &[], true);
    let b = Node::start(&db.url(), &[], true);
    // Each node has the tenant and its settings cached.
    for node in [&a, &b] {
        for _ in 0..3 {
            assert_eq!(
                list_status(&node.url, APIKEY, Some(SECRET)).await,
                StatusCode::OK
            );
            assert_eq!(
                list_status(&node.url, APIKEY, None).await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    let rotated = cli(&db, &["tenant", "rotate-secret", "default", "--json"]);
    let new_secret = serde_json::from_slice::<Value>(&rotated.stdout).unwrap()["secretkey"]
        .as_str()
        .unwrap()
        .to_owned();
    cli(
        &db,
        &["tenant", "config", "default", "--high-security", "false"],
    );
    // The documented bound: a change made anywhere holds on every node after it.
    tokio::time::sleep(app::TENANT_CHANGES_SEEN_WITHIN).await;
    for node in [&a, &b] {
        assert_eq!(
            list_status(&node.url, APIKEY, Some(SECRET)).await,
            StatusCode::UNAUTHORIZED,
            "the old secret is refused on {}",
            node.url
        );
        assert_eq!(
            list_status(&node.url, APIKEY, Some(&new_secret)).await,
            StatusCode::OK
        );
        assert_eq!(
            list_status(&node.url, APIKEY, None).await,
            StatusCode::OK,
            "highSecurity off: the apikey alone upserts"
        );
    }
}
