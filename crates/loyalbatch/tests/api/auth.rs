//! API tests: authentication (SPEC §1), the error envelope, request ids, health and unknown routes.

use crate::common::*;
use reqwest::{Method, StatusCode};

async fn missing_or_unknown_apikey_is_1000_and_reveals_nothing() {
    let s = TestServer::paused().await;
    let path = format!("{BASE}/batch/customers");
    let body = serde_json::json!({"body": [{"customerId": "1"}]});
    let none = s
        .request(Method::POST, &path)
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(none, StatusCode::UNAUTHORIZED, 1000).await;
    let unknown_with_secret = s
        .request(Method::POST, &path)
        .header("apikey", "nope")
        .header("secretkey", "x")
        .json(&body);
    let m1 = expect_error(
        unknown_with_secret.send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        1000,
    )
    .await;
    let wrong_secret = s
        .request(Method::POST, &path)
        .header("apikey", &s.a.apikey)
        .header("secretkey", "x")
        .json(&body);
    let m2 = expect_error(
        wrong_secret.send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        1000,
    )
    .await;
    assert_eq!(m1, m2, "an unknown apikey and a wrong secret look the same");
    let unknown_without_secret = s
        .request(Method::POST, &path)
        .header("apikey", "nope")
        .json(&body);
    expect_error(
        unknown_without_secret.send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        1000,
    )
    .await;
    assert_eq!(s.job_count(&s.a).await, 0);
}

async fn batch_calls_need_the_secret_1001() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(1, "c")).await;
    for (method, path) in [
        (Method::POST, format!("{BASE}/batch/customers")),
        (Method::GET, format!("{BASE}/batch/{job}")),
        (Method::GET, format!("{BASE}/batches/{job}/status")),
        (Method::DELETE, format!("{BASE}/batch/{job}")),
        (Method::POST, format!("{BASE}/batches/{job}/stop")),
        (Method::GET, format!("{BASE}/batch")),
    ] {
        let resp = s
            .request(method.clone(), &path)
            .header("apikey", &s.a.apikey)
            .json(&serde_json::json!({"body": [{}]}))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::UNAUTHORIZED, 1001).await;
    }
    assert_eq!(
        s.typed_status(job).await.status,
        wire::JobState::Queued,
        "nothing was stopped"
    );
}

async fn high_security_tenants_need_the_secret_on_single_calls_too() {
    let s = TestServer::paused().await;
    let resp = s
        .request(Method::POST, &format!("{BASE}/customers"))
        .header("apikey", &s.a.apikey)
        .json(&serde_json::json!({"customerId": "c"}))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, 1001).await;
    let resp = s
        .request(Method::GET, &format!("{BASE}/customers/c"))
        .header("apikey", &s.a.apikey)
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, 1001).await;
}

async fn tenants_without_high_security_may_call_customer_routes_with_the_apikey_alone() {
    let s = TestServer::paused().await;
    s.db.execute(&format!(
        "UPDATE tenants SET high_security = FALSE WHERE apikey = '{}'",
        s.a.apikey
    ))
    .await;
    let upsert = s
        .request(Method::POST, &format!("{BASE}/customers"))
        .header("apikey", &s.a.apikey)
        .json(&serde_json::json!({"customerId": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(upsert.status(), StatusCode::OK);
    let batch = s
        .request(Method::POST, &format!("{BASE}/batch/customers"))
        .header("apikey", &s.a.apikey)
        .json(&serde_json::json!({"body": [{"customerId": "c"}]}))
        .send()
        .await
        .unwrap();
    expect_error(batch, StatusCode::UNAUTHORIZED, 1001).await;
    let wrong = s
        .request(Method::POST, &format!("{BASE}/customers"))
        .header("apikey", &s.a.apikey)
        .header("secretkey", "wrong")
        .json(&serde_json::json!({"customerId": "c"}))
        .send()
        .await
        .unwrap();
    expect_error(wrong, StatusCode::UNAUTHORIZED, 1000).await;
}

async fn header_names_are_case_insensitive_and_transaction_key_is_an_alias() {
    let s = TestServer::paused().await;
    let body = serde_json::json!({"body": [{"customerId": "1"}]});
    let resp = s
        .request(Method::POST, &format!("{BASE}/batch/customers"))
        .header("APIKey", &s.a.apikey)
        .header("TransactionKey", &s.a.secretkey)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = s
        .request(Method::POST, &format!("{BASE}/batch/customers"))
        .header("ApiKey", &s.a.apikey)
        .header("SecretKey", &s.a.secretkey)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn every_response_has_a_request_id_and_a_callers_own_is_kept() {
    let s = TestServer::paused().await;
    let resp = s.request(Method::GET, "/health").send().await.unwrap();
    assert!(resp.headers().get("x-request-id").is_some());
    let resp = s
        .request(Method::GET, &format!("{BASE}/batch/1"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-123");
    let (_, json) = read(resp).await;
    assert_eq!(json["requestId"], "trace-123");
}

async fn health_and_ready_need_no_keys() {
    let s = TestServer::paused().await;
    let (status, json) = read(s.request(Method::GET, "/health").send().await.unwrap()).await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, json) = read(s.request(Method::GET, "/ready").send().await.unwrap()).await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

async fn unknown_routes_are_404_with_the_envelope() {
    let s = TestServer::paused().await;
    let resp = s
        .as_a(Method::GET, "/api/v9/integrations/batch/1")
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, 4004).await;
}

async fn internal_errors_answer_500_without_internals() {
    let s = TestServer::paused().await;
    // Break the database under the server: the cause must reach the log, not the caller.
    s.db.execute("DROP TABLE job_items").await;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .json(&serde_json::json!({"body": [{"customerId": "1"}]}))
        .send()
        .await
        .unwrap();
    let message = expect_error(resp, StatusCode::INTERNAL_SERVER_ERROR, 5000).await;
    assert_eq!(message, "internal error");
}

/// Secrets cannot be guessed at speed: past 10 wrong secrets for one apikey
/// in a minute, its checks are refused unmade (429 with `Retry-After`) — the
/// right secret too — while other tenants are served.
async fn wrong_secrets_are_throttled_per_apikey() {
    let s = TestServer::paused().await;
    let with_secret = |secret: &str| {
        s.request(Method::GET, &format!("{BASE}/batch"))
            .header("apikey", &s.a.apikey)
            .header("secretkey", secret)
            .send()
    };
    for _ in 0..10 {
        expect_error(
            with_secret("wrong").await.unwrap(),
            StatusCode::UNAUTHORIZED,
            1000,
        )
        .await;
    }
    for secret in ["wrong", s.a.secretkey.as_str()] {
        let resp = with_secret(secret).await.unwrap();
        let wait: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let message = expect_error(resp, StatusCode::TOO_MANY_REQUESTS, 3011).await;
        assert!(message.contains("too many failed key checks"), "{message}");
    }
    assert_eq!(s.job_count(&s.b).await, 0, "another tenant is served");
}

crate::on_both_backends!(
    wrong_secrets_are_throttled_per_apikey,
    missing_or_unknown_apikey_is_1000_and_reveals_nothing,
    batch_calls_need_the_secret_1001,
    high_security_tenants_need_the_secret_on_single_calls_too,
    tenants_without_high_security_may_call_customer_routes_with_the_apikey_alone,
    header_names_are_case_insensitive_and_transaction_key_is_an_alias,
    every_response_has_a_request_id_and_a_callers_own_is_kept,
    health_and_ready_need_no_keys,
    unknown_routes_are_404_with_the_envelope,
    internal_errors_answer_500_without_internals,
);
