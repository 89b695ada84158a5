//! API tests: orders, refunds and order transactions (SPEC §5.7–§5.9), and the ledger under concurrent jobs and single calls.

use crate::common::*;
use crate::ledger::{cashback, now};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn orders_refunds_and_order_transactions() {
    let s = TestServer::paused().await;
    cashback(&s, "c1", "seed", json!(50)).await;
    let (_, held) = s
        .post(
            "/transactions/hold",
            json!({"customerId": "c1", "transactionTime": now(), "pointsToHold": 30}),
        )
        .await;
    let reference = held["holdReference"].as_str().unwrap();
    let (status, order) = s.post("/orders", json!({
        "customerId": "c1", "orderId": "o-1", "orderDate": now(), "totalPaid": 120.5, "totalPrice": 130,
        "lineItems": [{"productId": "p1", "quantity": 2}], "redemption": {"pointsHoldReference": reference}
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["rewardedPoints"], 120);
    assert_eq!(order["redeemedPoints"], 30);
    assert_eq!(s.balance("c1").await["availablePointsBalance"], 140);
    let msg = s
        .refused(
            Method::POST,
            "/orders",
            Some(json!({"customerId": "c1", "orderId": "o-1", "orderDate": now(), "totalPaid": 1})),
            StatusCode::UNPROCESSABLE_ENTITY,
            9004,
        )
        .await;
    assert_eq!(msg, "orderId: \"o-1\" was already used in this account");
    let msg = s
        .refused(
            Method::POST,
            "/orders",
            Some(json!({"customerId": "c1", "orderId": "o-2", "orderDate": now()})),
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
    assert_eq!(msg, "totalPaid: required");

    let (status, rf) = s.post("/transactions/refund", json!({"customerId": "c1", "refundTransactionId": "rf-1", "reverseTransactionId": "o-1", "transactionTime": now(), "refundAmount": 60.25})).await;
    assert_eq!(status, StatusCode::OK, "{rf}");
    assert_eq!(rf["refundEquivalentPoints"], 60);
    assert_eq!(rf["refundAmount"], json!(60.25));
    let msg = s.refused(Method::POST, "/transactions/refund", Some(json!({"customerId": "c1", "refundTransactionId": "rf-2", "reverseTransactionId": "o-1", "transactionTime": now(), "refundAmount": 61})), StatusCode::UNPROCESSABLE_ENTITY, 3003).await;
    assert_eq!(msg, "refundAmount: only 60.25 of 120.5 is left to refund");
    let (_, rf) = s.post("/transactions/refund", json!({"customerId": "c1", "refundTransactionId": "rf-2", "reverseTransactionId": "o-1", "transactionTime": now()})).await;
    assert_eq!(rf["refundEquivalentPoints"], 60);
    assert_eq!(
        s.balance("c1").await["availablePointsBalance"],
        50,
        "earning clawed back, redeemed points given back"
    );
    s.refused(Method::POST, "/transactions/refund", Some(json!({"customerId": "c1", "refundTransactionId": "rf-3", "reverseTransactionId": "o-1", "transactionTime": now()})), StatusCode::CONFLICT, 4009).await;
    let msg = s.refused(Method::POST, "/transactions/refund", Some(json!({"customerId": "c1", "refundTransactionId": "rf-3", "reverseTransactionId": "nope", "transactionTime": now()})), StatusCode::NOT_FOUND, 9002).await;
    assert_eq!(
        msg,
        "reverseTransactionId: no transaction \"nope\" of this customer"
    );

    let (status, listed) = s.call(Method::GET, "/orders/o-1/transactions", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["orderId"], "o-1");
    assert_eq!(listed["count"], 5);
    let types: Vec<&str> = listed["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transactionType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["order", "redemption", "refund", "refund", "refund_restore"]
    );
    s.refused(
        Method::GET,
        "/orders/none/transactions",
        None,
        StatusCode::NOT_FOUND,
        4004,
    )
    .await;

    let job = s
        .submit(
            "orders",
            json!([
                {"customerId": "new", "orderId": "o-9", "orderDate": now(), "totalPaid": 10},
                {"customerId": "new", "orderId": "o-1", "orderDate": now(), "totalPaid": 10}
            ]),
        )
        .await;
    let listing = s
        .submit("orders/transactions", json!(["o-9", "o-1", "zzz"]))
        .await;
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(done["operation"], "Order Batch Job");
    assert_eq!(done["response"]["successful"][0]["rewardedPoints"], 10);
    assert_eq!(done["response"]["failed"][0]["orderId"], "o-1");
    let done = s.status(listing).await;
    assert_eq!(done["operation"], "Order Transactions Batch Job");
    assert_eq!(done["response"]["successful"][0]["count"], 1);
    assert_eq!(done["response"]["successful"][1]["count"], 5);
    assert_eq!(done["response"]["failed"][0]["customerId"], "zzz");
    assert_eq!(done["response"]["failed"][0]["code"], 4004);
}

fn concurrent() -> Options {
    Options {
        workers_running: true,
        engine: engine::EngineConfig {
            chunk_size: 3,
            workers: 4,
            poll_interval: std::time::Duration::from_millis(10),
            ..engine::EngineConfig::default()
        },
        ..Options::default()
    }
}

async fn concurrent_jobs_and_single_calls_never_overspend() {
    let s = TestServer::start(concurrent()).await;
    cashback(&s, "c", "seed", json!(1000)).await;
    let t = now();
    let redeem = |id: String| json!({"customerId": "c", "transactionId": id, "transactionTime": t, "points": 20});
    let mut jobs = Vec::new();
    for j in 0..4 {
        jobs.push(
            s.submit(
                "redeem",
                Value::Array((0..12).map(|i| redeem(format!("job{j}-{i}"))).collect()),
            )
            .await,
        );
    }
    let singles = (0..52).map(|i| s.post("/transactions/redeem", redeem(format!("single-{i}"))));
    let answers = futures::future::join_all(singles).await;
    let mut batch_ok = 0;
    for job in jobs {
        let done = s.wait_until(job, |j| j["unprocessedCount"] == 0).await;
        batch_ok += done["finishedCount"].as_i64().unwrap();
    }
    let single_ok = answers
        .iter()
        .filter(|(st, _)| *st == StatusCode::OK)
        .count() as i64;
    for (status, body) in &answers {
        assert!(
            *status == StatusCode::OK || body["code"] == 9008,
            "{status} {body}"
        );
    }
    // 2,000 points asked for in 20s against 1,000: every refusal came at 0, so exactly 50 passed.
    assert_eq!(
        single_ok + batch_ok,
        50,
        "{single_ok} single + {batch_ok} batch"
    );
    assert_eq!(s.balance("c").await["availablePointsBalance"], 0);
    assert_eq!(
        s.count_rows("SELECT count(*) FROM movements WHERE kind = 'redemption'")
            .await,
        50
    );
}

async fn a_transaction_id_is_used_once_across_concurrent_jobs() {
    let s = TestServer::start(concurrent()).await;
    let t = now();
    let mut jobs = Vec::new();
    for j in 0..3 {
        let body = (0..30)
            .map(|i| json!({"customerId": format!("j{j}-c{i}"), "transactionId": format!("tx-{i}"), "transactionTime": t, "amount": 10}))
            .collect();
        jobs.push(s.submit("cashback", Value::Array(body)).await);
    }
    let mut ok = 0;
    let mut duplicates = 0;
    for job in jobs {
        let done = s.wait_until(job, |j| j["unprocessedCount"] == 0).await;
        ok += done["finishedCount"].as_i64().unwrap();
        for f in done["response"]["failed"].as_array().unwrap() {
            assert_eq!(f["code"], 9004, "{f}");
            duplicates += 1;
        }
    }
    assert_eq!((ok, duplicates), (30, 60));
    assert_eq!(s.count_rows("SELECT count(*) FROM movements").await, 30);
}

/// `POST /orders/reward-preview` writes nothing; `DELETE /orders/{id}/transactions`
/// reverses an order as its full refund, once.
async fn orders_are_previewed_and_reversed() {
    let s = TestServer::running().await;
    let (status, preview) = s
        .post(
            "/orders/reward-preview",
            json!({"customerId": "o1", "totalPaid": 90.5, "totalPrice": 100}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        (
            preview["totalPoints"].as_i64(),
            preview["customerFound"].as_bool()
        ),
        (Some(90), Some(false))
    );
    assert_eq!(preview["cashback"]["totalPoints"], 90);
    let (status, _) = s.call(Method::GET, "/customers/o1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a preview creates nobody");
    s.refused(
        Method::POST,
        "/orders/reward-preview",
        Some(json!({"customerId": "o1"})),
        StatusCode::BAD_REQUEST,
        3000,
    )
    .await;

    // An order that spends a hold, then its reversal.
    let (status, _) = s
        .post(
            "/transactions/manual",
            json!({"customerId": "o1", "transactionId": "m1",
        "username": "u", "reason": "r", "points": 50}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "manual needs an existing customer"
    );
    let (status, _) = s.post("/customers", json!({"customerId": "o1"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .post(
            "/transactions/manual",
            json!({"customerId": "o1", "transactionId": "m1",
        "username": "u", "reason": "r", "points": 50}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, hold) = s
        .post(
            "/transactions/hold",
            json!({"customerId": "o1", "transactionTime": now(), "pointsToHold": 20}),
        )
        .await;
    let (status, order) = s
        .post(
            "/orders",
            json!({"customerId": "o1", "orderId": "ord-1", "orderDate": now(),
        "totalPaid": 30, "redemption": {"pointsHoldReference": hold["holdReference"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(s.balance("o1").await["availablePointsBalance"], 60);
    let (_, preview) = s
        .post(
            "/orders/reward-preview",
            json!({"customerId": "o1", "totalPaid": 1}),
        )
        .await;
    assert_eq!(preview["customerFound"], true);

    let (status, reversal) = s
        .call(Method::DELETE, "/orders/ord-1/transactions", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{reversal}");
    assert_eq!(
        reversal["refundTransactionId"],
        format!("reversal-{}", order["gameballTransactionId"])
    );
    // The 30 earned are taken back, the 20 redeemed given back.
    assert_eq!(s.balance("o1").await["availablePointsBalance"], 50);
    s.refused(
        Method::DELETE,
        "/orders/ord-1/transactions",
        None,
        StatusCode::CONFLICT,
        4009,
    )
    .await;
    s.refused(
        Method::DELETE,
        "/orders/nope/transactions",
        None,
        StatusCode::NOT_FOUND,
        4004,
    )
    .await;
}

crate::on_both_backends!(
    orders_are_previewed_and_reversed,
    concurrent_jobs_and_single_calls_never_overspend,
    a_transaction_id_is_used_once_across_concurrent_jobs,
    orders_refunds_and_order_transactions,
);
