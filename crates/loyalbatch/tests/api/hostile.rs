//! Hostile input through the real HTTP server, on both backends: numbers at their limits, poison items among good ones, oversized and control-character values, reused idempotency keys, and requests the framework would answer outside the envelope.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wire::{BatchType, JobState};

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

/// The largest decimal there is: the amount that overflowed the points maths.
const DECIMAL_MAX: &str = "79228162514264337593543950335";

/// Submits a batch whose body is raw JSON text (numbers no JSON library would keep).
async fn submit_raw(s: &TestServer, batch_type: BatchType, items: &str) -> i64 {
    let body = format!(r#"{{"body":[{items}]}}"#);
    s.api
        .submit(batch_type, body.as_bytes(), None)
        .await
        .unwrap()
}

async fn post_raw(s: &TestServer, path: &str, body: String) -> reqwest::Response {
    s.as_a(Method::POST, &format!("{BASE}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn failed(status: &Value) -> Vec<Value> {
    status["response"]["failed"].as_array().unwrap().clone()
}

/// Rows 1–2: an amount that overflowed the decimal division fails alone with
/// 3003; the valid items of its job apply, and jobs of any tenant keep running.
async fn an_overflowing_amount_fails_alone_and_every_job_still_runs() {
    let s = TestServer::running().await;
    let t = now();
    let seed = post_raw(
        &s,
        "/transactions/cashback",
        format!(
            r#"{{"customerId":"pp","transactionId":"seed","transactionTime":"{t}","amount":1000}}"#
        ),
    )
    .await;
    assert_eq!(seed.status(), StatusCode::OK);
    let poison = format!(
        r#"{{"customerId":"pp","transactionId":"bad","transactionTime":"{t}","amount":{DECIMAL_MAX}}}"#
    );
    let mut items: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"customerId":"pp","transactionId":"ok{i}","transactionTime":"{t}","points":10}}"#))
        .collect();
    items.insert(5, poison.clone());
    let mixed = submit_raw(&s, BatchType::Redeem, &items.join(",")).await;
    // Eight jobs of nothing but the poison, then another tenant's ordinary job.
    let mut poisoned = Vec::new();
    for n in 0..8 {
        let item = poison.replace("\"bad\"", &format!("\"bad{n}\""));
        poisoned.push(submit_raw(&s, BatchType::Redeem, &item).await);
    }
    let body = serde_json::to_vec(&json!({"body": customers(3, "b")})).unwrap();
    let b_api = client::Api::new(&client::Connection {
        server: s.url.clone(),
        api_prefix: BASE.into(),
        apikey: s.b.apikey.clone(),
        secretkey: s.b.secretkey.clone(),
    })
    .unwrap();
    let other = b_api
        .submit(BatchType::Customers, &body, None)
        .await
        .unwrap();

    let status = s.wait_for(mixed, JobState::Completed).await;
    assert_eq!(
        (&status["finishedCount"], &status["errorCount"]),
        (&json!(10), &json!(1))
    );
    let f = &failed(&status)[0];
    assert_eq!(
        (f["index"].as_u64(), f["code"].as_u64()),
        (Some(5), Some(3003))
    );
    assert_eq!(f["transactionId"], "bad");
    assert!(f["error"].as_str().unwrap().starts_with("amount: "), "{f}");
    assert_eq!(s.balance("pp").await["availablePointsBalance"], 900);
    for job in poisoned {
        let status = s.wait_for(job, JobState::Failed).await;
        assert_eq!(failed(&status)[0]["code"], 3003);
        assert!(
            status["error"].is_null(),
            "the job ran; its one item failed"
        );
    }
    let other = b_api.wait(other, |_| {}).await.unwrap();
    assert_eq!(other.status, JobState::Completed);
    // The single calls answer 422 naming the field (no 500).
    for (path, field, body) in [
        (
            "/transactions/redeem",
            "amount",
            format!(
                r#"{{"customerId":"pp","transactionId":"r1","transactionTime":"{t}","amount":{DECIMAL_MAX}}}"#
            ),
        ),
        (
            "/transactions/hold",
            "amountToHold",
            format!(
                r#"{{"customerId":"pp","transactionTime":"{t}","amountToHold":{DECIMAL_MAX}}}"#
            ),
        ),
        (
            "/transactions/manual",
            "amount",
            format!(
                r#"{{"customerId":"pp","transactionId":"m1","transactionTime":"{t}","username":"u","reason":"r","amount":{DECIMAL_MAX}}}"#
            ),
        ),
    ] {
        let message = expect_error(
            post_raw(&s, path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
        )
        .await;
        assert!(
            message.starts_with(&format!("{field}: ")),
            "{path}: {message}"
        );
    }
    assert_eq!(s.balance("pp").await["availablePointsBalance"], 900);
}

/// Row 3: the ledger never wraps — huge amounts and points are refused, and no
/// balance passes 10^15.
async fn points_and_balances_never_wrap() {
    let s = TestServer::paused().await;
    let t = now();
    let message = expect_error(
        post_raw(
            &s,
            "/transactions/cashback",
            format!(r#"{{"customerId":"c","transactionId":"t1","transactionTime":"{t}","amount":"1e28"}}"#),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        3003,
    )
    .await;
    assert_eq!(
        message,
        "amount: must be between -1000000000000 and 1000000000000"
    );
    let (status, ok) = read(
        post_raw(
            &s,
            "/transactions/cashback",
            format!(
                r#"{{"customerId":"c","transactionId":"t2","transactionTime":"{t}","amount":100}}"#
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    for points in [
        "-9223372036854775808",
        "9223372036854775807",
        "1e30",
        "1000000000001",
    ] {
        let message = expect_error(
            post_raw(
                &s,
                "/transactions/manual",
                format!(r#"{{"customerId":"c","transactionId":"m{points}","username":"u","reason":"r","points":{points}}}"#),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
        )
        .await;
        assert_eq!(
            message, "points: must be between -1000000000000 and 1000000000000 points",
            "{points}"
        );
    }
    // 1,000 additions of 10^12 points reach 10^15 exactly; one more point is refused.
    let adds: Vec<Value> = (0..1000)
        .map(|_| json!({"customerId": "c", "amount": 1_000_000_000_000i64}))
        .collect();
    let job = s.submit("balance-adjustment", Value::Array(adds)).await;
    s.drain().await;
    let status = s.status(job).await;
    assert_eq!(
        status["finishedCount"], 999,
        "100 points were there already"
    );
    let f = &failed(&status)[0];
    assert_eq!(
        (f["index"].as_u64(), f["code"].as_u64()),
        (Some(999), Some(3003))
    );
    assert!(
        f["error"]
            .as_str()
            .unwrap()
            .contains("past 1000000000000000 points"),
        "{f}"
    );
    let b = s.balance("c").await;
    assert_eq!(b["availablePointsBalance"], 999_000_000_000_100i64);
    assert_eq!(b["totalEarnedPoints"], 999_000_000_000_100i64);
    let (status, value) = read(
        s.as_a(Method::GET, &format!("{BASE}/customers/c/balance"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value["availablePointsValue"], json!(99_900_000_000_010i64));
}

/// Rows 5 and 8: an oversized item fails alone with 3011, and a failure quotes at
/// most ~100 characters of a long value.
async fn oversized_values_fail_alone_and_are_quoted_short() {
    let s = TestServer::paused().await;
    let huge_id = "x".repeat(1_000_000);
    let long_id = "y".repeat(15_000);
    let custom: serde_json::Map<String, Value> = (0..2000)
        .map(|i| (format!("k{i}"), json!("v".repeat(50))))
        .collect();
    let job = s
        .submit(
            "customers",
            json!([
                {"customerId": huge_id},
                {"customerId": long_id},
                {"customerId": "fat", "customerAttributes": {"custom": custom}},
                {"customerId": "fine"}
            ]),
        )
        .await;
    s.drain().await;
    let status = s.status(job).await;
    assert_eq!(
        (&status["finishedCount"], &status["errorCount"]),
        (&json!(1), &json!(3))
    );
    let f = failed(&status);
    assert_eq!(
        (f[0]["code"].as_u64(), f[0]["error"].as_str()),
        (Some(3011), Some("item: larger than 65536 bytes"))
    );
    assert_eq!(
        (f[1]["code"].as_u64(), f[1]["error"].as_str()),
        (Some(3011), Some("customerId: longer than 200 characters"))
    );
    assert_eq!(
        (f[2]["code"].as_u64(), f[2]["customerId"].as_str()),
        (Some(3011), Some("fat"))
    );
    for entry in &f[..2] {
        let quoted = entry["customerId"].as_str().unwrap();
        assert_eq!(
            quoted.chars().count(),
            101,
            "100 characters and an ellipsis"
        );
        assert!(quoted.ends_with('…'));
    }
    let text = s
        .as_a(Method::GET, &format!("{BASE}/batch/{job}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.len() < 2_000,
        "the status stays small: {} bytes",
        text.len()
    );
}

/// Row 6: control characters in ids and names are refused alike on both backends.
async fn control_characters_are_refused_alike_on_both_backends() {
    let s = TestServer::paused().await;
    let message = expect_error(
        s.as_a(Method::POST, &format!("{BASE}/customers"))
            .json(&json!({"customerId": "a\u{0}b"}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        3003,
    )
    .await;
    assert_eq!(message, "customerId: must not contain control characters");
    let t = now();
    let job = s
        .submit(
            "cashback",
            json!([
                {"customerId": "ok1", "transactionId": "t1", "transactionTime": t, "amount": 5},
                {"customerId": "nul\u{0}", "transactionId": "t2", "transactionTime": t, "amount": 5},
                {"customerId": "ok2", "transactionId": "t\u{0}3", "transactionTime": t, "amount": 5},
                {"customerId": "ok3", "transactionId": "t4", "transactionTime": t, "amount": 5}
            ]),
        )
        .await;
    let events = s
        .submit(
            "customers",
            json!([{"customerId": "n1", "customerAttributes": {"displayName": "Zoë\u{7}"}}]),
        )
        .await;
    s.drain().await;
    let status = s.status(job).await;
    assert_eq!(status["status"], "completed");
    let f = failed(&status);
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[0]["index"].as_u64(), f[0]["code"].as_u64()),
        (Some(1), Some(3003))
    );
    assert_eq!(
        f[1]["error"],
        "transactionId: must not contain control characters"
    );
    assert_eq!(s.balance("ok1").await["availablePointsBalance"], 5);
    assert_eq!(s.balance("ok3").await["availablePointsBalance"], 5);
    let status = s.status(events).await;
    assert_eq!(
        failed(&status)[0]["error"],
        "customerAttributes.displayName: must not contain control characters"
    );
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 2);
}

/// Row 7: an idempotency key names one request — its batch type and its body.
async fn an_idempotency_key_names_the_batch_type_too() {
    let s = TestServer::paused().await;
    let body = json!({"body": [{"customerId": "c1", "events": {"login": {}}}]});
    let send = |kind: &str| {
        s.as_a(Method::POST, &format!("{BASE}/batch/{kind}"))
            .header("Idempotency-Key", "key-1")
            .json(&body)
            .send()
    };
    let (status, first) = read(send("customers").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, again) = read(send("customers").await.unwrap()).await;
    assert_eq!(again, first, "the same request replays its job");
    let message = expect_error(send("events").await.unwrap(), StatusCode::CONFLICT, 4009).await;
    assert!(message.starts_with("Idempotency-Key"), "{message}");
    assert_eq!(s.job_count(&s.a).await, 1);
}

/// Row 9: the framework's own refusals come in the envelope too.
async fn every_refusal_is_an_envelope() {
    let s = TestServer::paused().await;
    let resp = s
        .as_a(Method::PUT, &format!("{BASE}/batch/1"))
        .send()
        .await
        .unwrap();
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let message = expect_error(resp, StatusCode::METHOD_NOT_ALLOWED, 4004).await;
    let allow = allow.expect("405 says what is allowed");
    assert!(allow.contains("GET") && allow.contains("DELETE"), "{allow}");
    assert!(message.contains("PUT"), "{message}");
    let message = s
        .refused(
            Method::GET,
            "/batch?limit=1&limit=2",
            None,
            StatusCode::BAD_REQUEST,
            3003,
        )
        .await;
    assert!(message.contains("limit"), "{message}");
    let resp = s
        .as_a(Method::GET, &format!("{BASE}/customers/%ff%fe"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    let code = resp.status();
    expect_error(
        resp,
        code,
        if code == StatusCode::NOT_FOUND {
            7000
        } else {
            3003
        },
    )
    .await;
    let message = expect_error(
        s.as_a(Method::POST, &format!("{BASE}/batch/customers"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(vec![0x1f, 0x8b, 0x08, 0])
            .send()
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        3013,
    )
    .await;
    assert!(message.contains("gzip"), "{message}");
    assert_eq!(s.job_count(&s.a).await, 0);
}

crate::on_both_backends!(
    an_overflowing_amount_fails_alone_and_every_job_still_runs,
    points_and_balances_never_wrap,
    oversized_values_fail_alone_and_are_quoted_short,
    control_characters_are_refused_alike_on_both_backends,
    an_idempotency_key_names_the_batch_type_too,
    every_refusal_is_an_envelope,
);
