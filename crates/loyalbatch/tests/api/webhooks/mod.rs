//! API tests: `/webhooks` (register, list, remove, deliveries, retry) and the
//! deliverer sending signed events to a receiver inside the test.

mod endpoints;
mod fairness;

use crate::common::*;
use domain::webhooks::{RetrySchedule, verify_signature};
use engine::webhooks::DeliveryConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use test_support::receiver::{Answer, Receiver};
use time::OffsetDateTime;
use wire::JobState;

/// Retries after 50 ms (doubling, at most 400 ms), for `retry_for`. The timeout
/// is long: no attempt of a loaded test machine times out unless a test wants it.
fn deliveries(retry_for: Duration) -> DeliveryConfig {
    DeliveryConfig {
        timeout: Duration::from_secs(30),
        schedule: RetrySchedule {
            first: Duration::from_millis(50),
            longest: Duration::from_millis(400),
            give_up_after: retry_for,
        },
        allow_private: true,
        poll_interval: Duration::from_millis(20),
        ..DeliveryConfig::default()
    }
}

async fn server(config: Option<DeliveryConfig>) -> TestServer {
    TestServer::start(Options {
        workers_running: true,
        app: app::Settings {
            webhook_allow_private: true,
            ..app::Settings::default()
        },
        webhooks: config,
        ..Options::default()
    })
    .await
}

/// Registers `url` for `events` as tenant A: (id, secret).
async fn register(s: &TestServer, url: &str, events: Option<Value>) -> (i64, String) {
    let mut body = json!({ "url": url });
    if let Some(e) = events {
        body["events"] = e;
    }
    let (status, created) = s.post("/webhooks", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_i64().unwrap(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn delivery_list(s: &TestServer, webhook: i64) -> Vec<Value> {
    let (status, list) = s
        .call(
            Method::GET,
            &format!("/webhooks/{webhook}/deliveries?limit=200"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["deliveries"].as_array().unwrap().clone()
}

/// Polls the endpoint's deliveries until `done` holds (30 s deadline).
async fn wait_deliveries(
    s: &TestServer,
    webhook: i64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = delivery_list(s, webhook).await;
        if done(&list) {
            return list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries never got there: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_hundred_jobs_send_one_signed_event_each() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        run_on(backend, async {
            let receiver = Receiver::accepting().await;
            let mut s = server(Some(deliveries(Duration::from_secs(60)))).await;
            let (hook, secret) = register(&s, &receiver.url, None).await;
            let mut jobs = Vec::new();
            for i in 0..100 {
                // Every tenth job fails as a whole (all its items fail): `batch.failed`.
                let body = if i % 10 == 9 {
                    json!([{"customerId": ""}])
                } else {
                    customers(2, &format!("j{i}-"))
                };
                jobs.push(s.submit("customers", body).await);
            }
            receiver
                .wait_until(Duration::from_secs(60), "an event per job", |r| {
                    r.iter().map(|x| &x.event_id).collect::<HashSet<_>>().len() == 100
                })
                .await;
            let list = wait_deliveries(&s, hook, |l| {
                l.len() == 100 && l.iter().all(|d| d["status"] == "delivered")
            })
            .await;
            assert!(
                list.iter()
                    .all(|d| d["attempts"] == 1 && d["lastStatusCode"] == 200)
            );

            let received = receiver.received();
            assert_eq!(received.len(), 100, "one request per event");
            for job in &jobs {
                let event_id = format!("evt_{job}");
                let r = received.iter().find(|r| r.event_id == event_id).unwrap();
                assert!(
                    verify_signature(
                        &secret,
                        &r.signature,
                        &r.body,
                        now_secs(),
                        Duration::from_secs(300)
                    ),
                    "the signature of {event_id} verifies"
                );
                assert!(!verify_signature(
                    "whsec_wrong",
                    &r.signature,
                    &r.body,
                    now_secs(),
                    Duration::from_secs(300)
                ));
                let event: Value = serde_json::from_slice(&r.body).unwrap();
                let mut status = s.status(*job).await;
                status.as_object_mut().unwrap().remove("response");
                assert_eq!(event["data"], status, "the body is the job's final status");
                assert_eq!(event["id"], event_id);
                let expected = if status["status"] == "failed" {
                    "batch.failed"
                } else {
                    "batch.completed"
                };
                assert_eq!(event["type"], expected);
                assert_eq!(event["createdAt"], status["finishedAt"]);
            }
            let failed = received
                .iter()
                .filter(|r| {
                    serde_json::from_slice::<Value>(&r.body).unwrap()["type"] == "batch.failed"
                })
                .count();
            assert_eq!(failed, 10);
            s.shut_down().await;
        })
        .await;
    }
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_until_it_answers() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        run_on(backend, async {
            // The first three attempts answer 500, the fourth 204.
            let receiver = Receiver::start(Box::new(|_, n| {
                Answer::status(if n <= 3 { 500 } else { 204 })
            }))
            .await;
            let mut s = server(Some(deliveries(Duration::from_secs(60)))).await;
            let (hook, secret) =
                register(&s, &receiver.url, Some(json!(["batch.completed"]))).await;
            let job = s.submit("customers", customers(3, "r")).await;
            let list = wait_deliveries(&s, hook, |l| {
                l.first().is_some_and(|d| d["status"] == "delivered")
            })
            .await;
            assert_eq!(list.len(), 1);
            let d = &list[0];
            assert_eq!(d["attempts"], 4);
            assert_eq!(d["lastStatusCode"], 204);
            assert_eq!(d["lastError"], Value::Null);
            assert_eq!(d["eventId"], format!("evt_{job}"));
            assert_eq!(d["jobId"], job);
            assert_eq!(d["nextAttemptAt"], Value::Null);
            assert!(d["deliveredAt"].is_string());
            let received = receiver.received();
            assert_eq!(
                received.iter().map(|r| r.answered).collect::<Vec<_>>(),
                vec![500, 500, 500, 204]
            );
            // The same event and body each time, each signed anew.
            assert!(received.iter().all(|r| r.body == received[0].body));
            for r in &received {
                assert!(verify_signature(
                    &secret,
                    &r.signature,
                    &r.body,
                    now_secs(),
                    Duration::from_secs(300)
                ));
            }
            s.shut_down().await;
        })
        .await;
    }
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_in_time_is_retried() {
    let receiver = Receiver::start(Box::new(|_, n| Answer {
        status: 200,
        // Longer than the deliverer's 1 s timeout the first time.
        delay: if n == 1 {
            Duration::from_secs(5)
        } else {
            Duration::ZERO
        },
    }))
    .await;
    let mut s = server(Some(DeliveryConfig {
        timeout: Duration::from_secs(1),
        ..deliveries(Duration::from_secs(60))
    }))
    .await;
    let (hook, _) = register(&s, &receiver.url, None).await;
    s.submit("customers", customers(1, "t")).await;
    let list = wait_deliveries(&s, hook, |l| {
        l.first().is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(list[0]["attempts"], 2);
    assert_eq!(receiver.received().len(), 2);
    s.shut_down().await;
}

#[tokio::test]
async fn a_delivery_that_never_succeeds_fails_and_can_be_retried() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        run_on(backend, async {
            let receiver = Receiver::start(Box::new(|_, _| Answer::status(503))).await;
            // Retried for 2 s only (attempts 50, 100, 200, 400, 400 … ms apart).
            let mut s = server(Some(deliveries(Duration::from_secs(2)))).await;
            let (hook, _) = register(&s, &receiver.url, None).await;
            let job = s.submit("customers", customers(1, "x")).await;
            s.wait_for(job, JobState::Completed).await;
            let list = wait_deliveries(&s, hook, |l| {
                l.first().is_some_and(|d| d["status"] == "failed")
            })
            .await;
            let d = &list[0];
            let attempts = d["attempts"].as_u64().unwrap();
            assert!(attempts >= 2, "{d}");
            assert_eq!(d["lastStatusCode"], 503);
            assert_eq!(d["lastError"], "answered HTTP 503");
            assert_eq!(d["nextAttemptAt"], Value::Null);
            assert_eq!(receiver.received().len() as u64, attempts);

            // The endpoint is fixed; the delivery is replayed by hand.
            receiver.set_plan(Box::new(|_, _| Answer::ok()));
            let id = d["id"].as_i64().unwrap();
            let (status, retried) = s
                .post(
                    &format!("/webhooks/{hook}/deliveries/{id}/retry"),
                    json!({}),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
            assert_eq!(retried["status"], "pending");
            assert!(retried["nextAttemptAt"].is_string());
            let list = wait_deliveries(&s, hook, |l| {
                l.first().is_some_and(|d| d["status"] == "delivered")
            })
            .await;
            assert_eq!(list[0]["attempts"].as_u64().unwrap(), attempts + 1);
            assert_eq!(receiver.delivered()[&format!("evt_{job}")], 1);
            s.shut_down().await;
        })
        .await;
    }
}

#[tokio::test]
async fn a_stopped_job_sends_batch_stopped() {
    let receiver = Receiver::accepting().await;
    // Workers paused: the job stays queued until stopped.
    let mut s = TestServer::start(Options {
        app: app::Settings {
            webhook_allow_private: true,
            ..app::Settings::default()
        },
        webhooks: Some(deliveries(Duration::from_secs(60))),
        ..Options::default()
    })
    .await;
    let (_, _) = register(&s, &receiver.url, Some(json!(["batch.stopped"]))).await;
    let job = s.submit("customers", customers(2, "s")).await;
    let (status, _) = s.call(Method::DELETE, &format!("/batch/{job}"), None).await;
    assert_eq!(status, StatusCode::OK);
    receiver
        .wait_until(Duration::from_secs(30), "the stop", |r| !r.is_empty())
        .await;
    let event: Value = serde_json::from_slice(&receiver.received()[0].body).unwrap();
    assert_eq!(event["type"], "batch.stopped");
    assert_eq!(event["data"]["status"], "stopped");
    assert_eq!(event["data"]["jobId"], job);
    s.shut_down().await;
}

/// The README's Python example, run by `python3` on a real delivery.
#[tokio::test]
async fn the_readme_python_example_verifies_a_real_delivery() {
    let readme = include_str!("../../../../../README.md");
    let section = &readme[readme.find("**Verifying a signature.**").unwrap()..];
    let start = section.find("```python\n").unwrap() + "```python\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];

    let receiver = Receiver::accepting().await;
    let mut s = server(Some(deliveries(Duration::from_secs(60)))).await;
    let (_, secret) = register(&s, &receiver.url, None).await;
    s.submit("customers", customers(1, "py")).await;
    receiver
        .wait_until(Duration::from_secs(30), "a delivery", |r| !r.is_empty())
        .await;
    let r = receiver.received().remove(0);
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    std::fs::write(&body, &r.body).unwrap();
    let script = format!(
        "{example}\nimport sys\nsys.exit(0 if verify(sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()) else 1)\n"
    );
    let run = |secret: &str| {
        std::process::Command::new("python3")
            .args(["-c", &script, secret, &r.signature])
            .arg(&body)
            .status()
            .expect("python3 runs")
            .code()
    };
    assert_eq!(run(&secret), Some(0), "the example accepts the delivery");
    assert_eq!(run("whsec_wrong"), Some(1), "and refuses another secret");
    s.shut_down().await;
}
