//! Snapshots of what clients read: a job's status with its per-item results, the error envelopes, and ledger results — the same on both backends (one snapshot serves both).

use crate::common::*;
use insta::assert_snapshot;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const T: &str = "2025-03-14T10:00:00Z";

/// Instants and request ids differ from run to run: they are replaced.
fn redacted(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, field) in map.iter_mut() {
                    match k.as_str() {
                        "createdAt" | "startedAt" | "finishedAt" | "expiresAt"
                            if !field.is_null() =>
                        {
                            *field = json!("[time]")
                        }
                        "requestId" => *field = json!("[request id]"),
                        _ => walk(field),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// A JSON snapshot as clients read it (numbers as written, keys sorted).
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        assert_snapshot!(
            $name,
            serde_json::to_string_pretty(&redacted($value)).unwrap()
        )
    };
}

async fn a_customers_job_reports_every_item_in_order() {
    let s = TestServer::paused().await;
    let job = s
        .submit(
            "customers",
            json!([
                {"customerId": "c1", "email": "a@x.io", "customerAttributes": {"dateOfBirth": "1990-01-31"}},
                {"customerId": "c2", "customerAttributes": {"dateOfBirth": "31/01/1990"}},
                {"email": "nobody@x.io"},
                {"customerId": "c1", "customerAttributes": {"custom": {"tier": "gold"}}},
                {"customerId": "c\u{0}3"}
            ]),
        )
        .await;
    s.drain().await;
    snapshot!("customers_job_status", s.status(job).await);
}

async fn ledger_items_report_points_ids_and_refusals() {
    let s = TestServer::paused().await;
    let job = s
        .submit(
            "cashback",
            json!([
                {"customerId": "c1", "transactionId": "t1", "transactionTime": T, "amount": 99.99},
                {"customerId": "c1", "transactionId": "t1", "transactionTime": T, "amount": 5},
                {"customerId": "c2", "transactionId": "t2", "transactionTime": T, "amount": "1e28"},
                {"customerId": "c2", "transactionId": "t3", "transactionTime": T, "amount": 0.0000001}
            ]),
        )
        .await;
    s.drain().await;
    let redeem = s
        .submit(
            "redeem",
            json!([
                {"customerId": "c1", "transactionId": "r1", "transactionTime": T, "points": 50},
                {"customerId": "c1", "transactionId": "r2", "transactionTime": T, "points": 500},
                {"customerId": "nobody", "transactionId": "r3", "transactionTime": T, "points": 1}
            ]),
        )
        .await;
    let balance = s
        .submit("balance-inquiry", json!([{"customerId": "c1"}]))
        .await;
    s.drain().await;
    let results = |status: Value| status["response"].clone();
    snapshot!("cashback_results", results(s.status(job).await));
    snapshot!("redeem_results", results(s.status(redeem).await));
    snapshot!("balance_results", results(s.status(balance).await));
}

async fn refusals_come_in_the_envelope() {
    let s = TestServer::paused().await;
    let mut answers = Vec::new();
    let mut record = async |label: &str, req: reqwest::RequestBuilder| {
        let (status, body) = read(req.send().await.unwrap()).await;
        answers.push(json!({"request": label, "status": status.as_u16(), "body": body}));
    };
    record(
        "no apikey",
        s.request(Method::GET, &format!("{BASE}/batch/1")),
    )
    .await;
    record(
        "unknown job",
        s.as_a(Method::GET, &format!("{BASE}/batch/999")),
    )
    .await;
    record(
        "another tenant's job id",
        s.as_b(Method::DELETE, &format!("{BASE}/batch/1")),
    )
    .await;
    record(
        "method not allowed",
        s.as_a(Method::PUT, &format!("{BASE}/batch/1")),
    )
    .await;
    record(
        "empty body array",
        s.as_a(Method::POST, &format!("{BASE}/batch/customers"))
            .json(&json!({"body": []})),
    )
    .await;
    record(
        "malformed JSON",
        s.as_a(Method::POST, &format!("{BASE}/batch/customers"))
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    record(
        "not JSON",
        s.as_a(Method::POST, &format!("{BASE}/customers"))
            .header("content-type", "text/csv")
            .body("a,b"),
    )
    .await;
    record(
        "an invalid single call",
        s.as_a(Method::POST, &format!("{BASE}/transactions/cashback")).json(
            &json!({"customerId": "c", "transactionId": "t", "transactionTime": T, "amount": -1}),
        ),
    )
    .await;
    record("unknown route", s.as_a(Method::GET, "/nowhere")).await;
    assert!(answers.iter().all(|a| a["status"].as_u64() >= Some(400)));
    assert_eq!(answers[0]["status"], StatusCode::UNAUTHORIZED.as_u16());
    snapshot!("refusals", Value::Array(answers));
}

crate::on_both_backends!(
    a_customers_job_reports_every_item_in_order,
    ledger_items_report_points_ids_and_refusals,
    refusals_come_in_the_envelope,
);
