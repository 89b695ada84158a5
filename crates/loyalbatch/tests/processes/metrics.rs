//! Prometheus metrics of a real process: exact counts of a job's items, the
//! store's gauges on both backends, and nothing of them on the API port.

use crate::node::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use test_support::postgres::TestDatabase;

/// The value of the series `name` whose labels are exactly `labels`.
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        let (metric, rest) = key.split_once('{').unwrap_or((key, "}"));
        if metric != name {
            return None;
        }
        let mut found: Vec<(String, String)> = rest
            .trim_end_matches('}')
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
            .collect();
        found.sort();
        let mut wanted: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        wanted.sort();
        (found == wanted).then(|| value.parse().ok())?
    })
}

async fn scrape(node: &Node) -> String {
    let url = node.metrics.as_ref().expect("the node serves metrics");
    let resp = client().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

async fn wait_finished(url: &str, job: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = call(url, Method::GET, &format!("/batch/{job}"), None).await;
        if status["status"] == "completed" {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} did not finish: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A cashback job of 5 items, 2 of which fail (3000 and 9004).
async fn run_a_job(node: &Node) {
    let t = "2025-01-01T00:00:00Z";
    let item = |id: &str| json!({"customerId": "m1", "transactionId": id, "transactionTime": t, "amount": 10});
    let job = submit(
        &node.url,
        "cashback",
        vec![
            item("t1"),
            item("t2"),
            json!({"customerId": "m1", "transactionId": "t3", "transactionTime": t}),
            item("t1"),
            item("t4"),
        ],
    )
    .await;
    let status = wait_finished(&node.url, job).await;
    assert_eq!(
        (
            status["finishedCount"].as_u64(),
            status["errorCount"].as_u64()
        ),
        (Some(3), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_a_jobs_items_exactly_and_stay_off_the_api_port() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        &format!("sqlite://{}", dir.path().join("m.db").display()),
        &[],
        true,
    );
    run_a_job(&node).await;
    let text = scrape(&node).await;
    let cashback = [("type", "cashback")];
    assert_eq!(
        series(&text, "loyalbatch_jobs_created_total", &cashback),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        series(
            &text,
            "loyalbatch_jobs_finished_total",
            &[("type", "cashback"), ("state", "completed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        series(&text, "loyalbatch_items_processed_total", &cashback),
        Some(5.0)
    );
    for code in ["3000", "9004"] {
        assert_eq!(
            series(
                &text,
                "loyalbatch_items_failed_total",
                &[("type", "cashback"), ("code", code)]
            ),
            Some(1.0),
            "{code}"
        );
    }
    assert!(
        series(
            &text,
            "loyalbatch_chunk_commit_duration_seconds_count",
            &cashback
        ) >= Some(1.0)
    );
    assert_eq!(
        series(&text, "loyalbatch_chunk_items_sum", &cashback),
        Some(5.0)
    );
    assert!(series(&text, "loyalbatch_intake_duration_seconds_count", &cashback) == Some(1.0));
    assert_eq!(series(&text, "loyalbatch_items_queued", &[]), Some(0.0));
    assert!(series(&text, "loyalbatch_sqlite_writer_queue_depth", &[]).is_some());
    assert!(
        series(
            &text,
            "loyalbatch_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v4.0/integrations/batch/{key}"),
                ("status", "200")
            ]
        ) == Some(1.0),
        "{text}"
    );
    // The API port serves none of it.
    let resp = client()
        .get(format!("{}/metrics", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let metrics_host = node
        .metrics
        .as_ref()
        .unwrap()
        .trim_end_matches("/metrics")
        .to_owned();
    assert_ne!(metrics_host, node.url);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_nodes_report_their_pool_and_queue() {
    let Some(db) = TestDatabase::create().await else {
        eprintln!("skipped a metrics test on PostgreSQL: set LOYALBATCH_TEST_POSTGRES_URL");
        return;
    };
    let node = Node::start(&db.url(), &[], true);
    run_a_job(&node).await;
    let text = scrape(&node).await;
    assert_eq!(
        series(
            &text,
            "loyalbatch_items_processed_total",
            &[("type", "cashback")]
        ),
        Some(5.0)
    );
    assert_eq!(series(&text, "loyalbatch_items_queued", &[]), Some(0.0));
    let idle = series(
        &text,
        "loyalbatch_postgres_pool_connections",
        &[("state", "idle")],
    );
    let in_use = series(
        &text,
        "loyalbatch_postgres_pool_connections",
        &[("state", "in_use")],
    );
    assert!(idle.is_some() && in_use.is_some(), "{text}");
    assert!(series(&text, "loyalbatch_postgres_pool_max_connections", &[]) >= Some(1.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        &format!("sqlite://{}", dir.path().join("off.db").display()),
        &["--metrics-listen", "off"],
        true,
    );
    assert_eq!(node.metrics, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_attempts_are_counted_by_result() {
    use test_support::receiver::{Answer, Receiver};
    // The first attempt fails, the second delivers.
    let receiver = Receiver::start(Box::new(|_, n| {
        Answer::status(if n == 1 { 500 } else { 200 })
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let node = Node::start(
        &db,
        &["--webhook-allow-private", "--webhook-first-retry", "50ms"],
        true,
    );
    let (status, _) = call(
        &node.url,
        Method::POST,
        "/webhooks",
        Some(json!({"url": receiver.url})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    run_a_job(&node).await;
    receiver
        .wait_until(Duration::from_secs(30), "a delivery", |r| {
            r.iter().any(|x| x.answered == 200)
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = scrape(&node).await;
        let delivered = series(
            &text,
            "loyalbatch_webhook_attempts_total",
            &[("result", "delivered")],
        );
        let retried = series(
            &text,
            "loyalbatch_webhook_attempts_total",
            &[("result", "retry")],
        );
        if delivered == Some(1.0) {
            assert_eq!(retried, Some(1.0), "{text}");
            assert!(
                text.contains("loyalbatch_webhook_attempt_duration_seconds_count 2"),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of a `Set-Cookie` named `name` in `resp`.
fn set_cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie {name}"))
        .to_owned()
}

fn csrf_field(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

/// Stops `job` with the console's form, signed in with the node's keys.
async fn stop_from_the_console(url: &str, job: i64) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .get(format!("{url}/console/login"))
        .send()
        .await
        .unwrap();
    let token = set_cookie(&login, "loyalbatch_console_login");
    let signed_in = http
        .post(format!("{url}/console/login"))
        .header("cookie", format!("loyalbatch_console_login={token}"))
        .form(&[("apikey", APIKEY), ("secretkey", SECRET), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = format!(
        "loyalbatch_console={}",
        set_cookie(&signed_in, "loyalbatch_console")
    );
    let page = http
        .get(format!("{url}/console/jobs"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let csrf = csrf_field(&page.text().await.unwrap());
    let stopped = http
        .post(format!("{url}/console/jobs/{job}/stop"))
        .header("cookie", &session)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), StatusCode::SEE_OTHER);
}

/// Every door counts a stop once: the API's (a repeated stop counts nothing
/// more) and the console's.
#[tokio::test]
async fn a_stop_is_counted_once_whichever_door_it_came_through() {
    let dir = tempfile::tempdir().unwrap();
    // One worker, one item per chunk: the jobs behind a long one stay queued.
    let node = Node::start(
        &format!("sqlite://{}", dir.path().join("s.db").display()),
        &["--workers", "1", "--chunk-size", "1"],
        true,
    );
    let long: Vec<Value> = (0..1000)
        .map(|i| json!({"customerId": format!("l{i}")}))
        .collect();
    let ahead = submit(&node.url, "customers", long).await;
    let by_api = submit(&node.url, "customers", vec![json!({"customerId": "a"})]).await;
    let by_console = submit(&node.url, "customers", vec![json!({"customerId": "c"})]).await;
    let stopped = [("type", "customers"), ("state", "stopped")];
    for _ in 0..2 {
        let (status, body) =
            call(&node.url, Method::DELETE, &format!("/batch/{by_api}"), None).await;
        assert_eq!(
            (status, &body["status"]),
            (StatusCode::OK, &json!("stopped"))
        );
    }
    let text = scrape(&node).await;
    assert_eq!(
        series(&text, "loyalbatch_jobs_finished_total", &stopped),
        Some(1.0),
        "{text}"
    );
    stop_from_the_console(&node.url, by_console).await;
    let (_, status) = call(
        &node.url,
        Method::GET,
        &format!("/batch/{by_console}"),
        None,
    )
    .await;
    assert_eq!(status["status"], "stopped");
    let text = scrape(&node).await;
    assert_eq!(
        series(&text, "loyalbatch_jobs_finished_total", &stopped),
        Some(2.0),
        "{text}"
    );
    call(&node.url, Method::DELETE, &format!("/batch/{ahead}"), None).await;
}
