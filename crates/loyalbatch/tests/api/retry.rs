//! API tests: `POST /batch/{jobId}/retry` — a new job of a finished job's
//! failed items (their original texts), once per job.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wire::JobState;

async fn retry(s: &TestServer, job: i64) -> (StatusCode, Value) {
    s.call(Method::POST, &format!("/batch/{job}/retry"), None)
        .await
}

async fn failed_items_are_retried_once_as_a_new_job() {
    let s = TestServer::paused().await;
    // Items 1 and 3 fail (no customerId; a control character).
    let body = json!([
        {"customerId": "ok0", "email": "a@x.io"},
        {"email": "missing@x.io", "mobile": "+1 555"},
        {"customerId": "ok2"},
        {"customerId": "bad\u{1}id", "displayName": "Zoë"},
        {"customerId": "ok4"}
    ]);
    let job = s.submit("customers", body.clone()).await;
    // Not finished yet: nothing to retry.
    let (status, answer) = retry(&s, job).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], 4009);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("is queued") && message.contains("once it has finished"),
        "says it is not finished, not that nothing failed: {message}"
    );

    s.drain().await;
    let status = s.status(job).await;
    assert_eq!(
        (
            status["finishedCount"].as_u64(),
            status["errorCount"].as_u64()
        ),
        (Some(3), Some(2))
    );

    let (code, created) = retry(&s, job).await;
    assert_eq!(code, StatusCode::OK, "{created}");
    let again = created["jobId"].as_i64().unwrap();
    assert_ne!(again, job);
    // Asked again: the same job.
    let (code, same) = retry(&s, job).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(same["jobId"], again);

    // The new job holds exactly the failed items, in order, as they were sent.
    let items = s.store.load_items(again, 0, 10).await.unwrap();
    let texts: Vec<Value> = items
        .iter()
        .map(|(_, t)| serde_json::from_str(t).unwrap())
        .collect();
    assert_eq!(texts, vec![body[1].clone(), body[3].clone()]);
    s.drain().await;
    let retried = s.wait_for(again, JobState::Failed).await;
    assert_eq!(retried["itemCount"], 2);
    assert_eq!(retried["type"], "customers");
    // A job made of failures that fail again can itself be retried.
    let (code, third) = retry(&s, again).await;
    assert_eq!(code, StatusCode::OK);
    assert_ne!(third["jobId"], again);

    // Another tenant's job is not found; an unknown one neither.
    let resp = s
        .as_b(Method::POST, &format!("{BASE}/batch/{job}/retry"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, 4004).await;
    s.refused(
        Method::POST,
        "/batch/999999/retry",
        None,
        StatusCode::NOT_FOUND,
        4004,
    )
    .await;
}

async fn a_job_without_failures_has_nothing_to_retry() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(3, "fine")).await;
    s.drain().await;
    s.wait_for(job, JobState::Completed).await;
    let message = s
        .refused(
            Method::POST,
            &format!("/batch/{job}/retry"),
            None,
            StatusCode::CONFLICT,
            4009,
        )
        .await;
    assert!(message.contains("no failed items"), "{message}");
    // Its items were not kept.
    assert!(s.store.load_items(job, 0, 3).await.unwrap().is_empty());
}

/// A tenant whose queue is full: a job of two items (one fails) ran, and three
/// items wait with a limit of three. Answers (server, the finished job).
pub(crate) async fn full_queue() -> (TestServer, i64) {
    let s = TestServer::start(Options {
        app: app::Settings {
            queue_limit: 3,
            queue_retry_after: std::time::Duration::from_secs(7),
            ..app::Settings::default()
        },
        ..Options::default()
    })
    .await;
    let job = s
        .submit(
            "customers",
            json!([{"customerId": "ok"}, {"email": "no-id@x.io"}]),
        )
        .await;
    s.drain().await;
    assert_eq!(s.status(job).await["errorCount"], 1);
    s.submit("customers", customers(3, "waiting")).await;
    (s, job)
}

async fn a_retry_is_held_to_the_queue_limit_like_a_new_batch() {
    let (s, job) = full_queue().await;
    let new_batch = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .json(&json!({"body": [{"customerId": "one-more"}]}))
        .send()
        .await
        .unwrap();
    let retried = s
        .as_a(Method::POST, &format!("{BASE}/batch/{job}/retry"))
        .send()
        .await
        .unwrap();
    for resp in [new_batch, retried] {
        assert_eq!(resp.headers()["retry-after"], "7", "the flag's Retry-After");
        let message = expect_error(resp, StatusCode::TOO_MANY_REQUESTS, 3011).await;
        assert!(message.contains("queue limit"), "{message}");
    }
    assert_eq!(s.job_count(&s.a).await, 2, "nothing created");
}

crate::on_both_backends!(
    a_retry_is_held_to_the_queue_limit_like_a_new_batch,
    failed_items_are_retried_once_as_a_new_job,
    a_job_without_failures_has_nothing_to_retry
);
