//! API tests: `GET /transactions` and `GET /transactions/count` — filters,
//! keyset paging, tenants kept apart.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const T: &str = "2025-01-01T00:00:00Z";
const LATER: &str = "2025-02-01T00:00:00Z";

async fn list(s: &TestServer, query: &str) -> Value {
    let (status, body) = s
        .call(Method::GET, &format!("/transactions?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

async fn count(s: &TestServer, query: &str) -> u64 {
    let (status, body) = s
        .call(Method::GET, &format!("/transactions/count?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["count"].as_u64().unwrap()
}

fn types(page: &Value) -> Vec<String> {
    page["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn movements_are_listed_filtered_and_paged() {
    let s = TestServer::running().await;
    let cashback = |c: &str, id: &str, time: &str, amount: i64| json!({"customerId": c, "transactionId": id, "transactionTime": time, "amount": amount});
    for body in [
        cashback("c1", "t1", T, 100),
        cashback("c2", "t2", T, 50),
        cashback("c1", "t3", LATER, 10),
    ] {
        let (status, b) = s.post("/transactions/cashback", body).await;
        assert_eq!(status, StatusCode::OK, "{b}");
    }
    let (status, _) = s
        .post(
            "/transactions/manual",
            json!({"customerId": "c1", "transactionId": "m1",
        "username": "u", "reason": "r", "points": -10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .post(
            "/transactions/redeem",
            json!({"customerId": "c1", "transactionId": "r1",
        "transactionTime": LATER, "points": 20}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let all = list(&s, "").await;
    assert_eq!(
        types(&all),
        [
            "PaymentReward",
            "PaymentReward",
            "PaymentReward",
            "ManualDeduction",
            "Redemption"
        ]
    );
    let first = &all["transactions"][0];
    assert_eq!(
        (
            first["customerId"].as_str(),
            first["transactionId"].as_str()
        ),
        (Some("c1"), Some("t1"))
    );
    assert_eq!(
        (
            first["points"].as_i64(),
            first["amount"].as_i64(),
            first["direction"].as_str()
        ),
        (Some(100), Some(100), Some("+"))
    );
    assert_eq!(first["transactionTime"], "2025-01-01T00:00:00.000Z");
    let ids: Vec<i64> = all["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["gameballTransactionId"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    assert_eq!(
        (all["hasMore"].as_bool(), all["next"].as_i64()),
        (Some(false), None)
    );
    assert_eq!(count(&s, "").await, 5);

    // Filters.
    assert_eq!(types(&list(&s, "customerId=c2").await), ["PaymentReward"]);
    assert_eq!(count(&s, "customerId=c1").await, 4);
    assert_eq!(
        types(&list(&s, "customerId=c1&direction=-").await),
        ["ManualDeduction", "Redemption"]
    );
    assert_eq!(count(&s, "direction=%2B").await, 3);
    assert_eq!(types(&list(&s, "type=Redemption").await), ["Redemption"]);
    assert_eq!(count(&s, "type=ManualDeduction&direction=%2B").await, 0);
    // t3, r1, and m1 (a manual transaction happens when it is recorded: now).
    assert_eq!(count(&s, &format!("from={LATER}")).await, 3);
    assert_eq!(count(&s, &format!("to={LATER}&customerId=c1")).await, 1);
    assert_eq!(
        types(&list(&s, "transactionId=m1").await),
        ["ManualDeduction"]
    );
    assert_eq!(count(&s, "customerId=nobody").await, 0);

    // Keyset pages of two.
    let page1 = list(&s, "limit=2").await;
    assert_eq!(
        (
            page1["transactions"].as_array().unwrap().len(),
            page1["hasMore"].as_bool()
        ),
        (2, Some(true))
    );
    let next = page1["next"].as_i64().unwrap();
    assert_eq!(next, ids[1]);
    let page2 = list(&s, &format!("limit=2&startAfter={next}")).await;
    let page3 = list(
        &s,
        &format!("limit=2&startAfter={}", page2["next"].as_i64().unwrap()),
    )
    .await;
    assert_eq!(page3["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(page3["next"], Value::Null);

    // Another tenant sees none of it; bad filters are refused naming the field.
    let (status, other) = read(
        s.as_b(Method::GET, &format!("{BASE}/transactions"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, other["transactions"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    for (query, field) in [
        ("limit=0", "limit"),
        ("type=Bonus", "type"),
        ("from=yesterday", "from"),
        ("direction=x", "direction"),
    ] {
        let message = s
            .refused(
                Method::GET,
                &format!("/transactions?{query}"),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                3003,
            )
            .await;
        assert!(message.starts_with(field), "{message}");
    }
}

async fn a_customers_history_is_newest_first_and_paged() {
    let s = TestServer::running().await;
    for (i, amount) in [100, 200, 300, 400, 500].into_iter().enumerate() {
        let (status, body) = s
            .post(
                "/transactions/cashback",
                json!({"customerId": "h1", "transactionId": format!("h{i}"), "transactionTime": T, "amount": amount}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    s.post(
        "/transactions/cashback",
        json!({"customerId": "other", "transactionId": "o1", "transactionTime": T, "amount": 10}),
    )
    .await;
    let page = |query: &'static str| {
        let s = &s;
        async move {
            let (status, body) = s
                .call(
                    Method::GET,
                    &format!("/customers/h1/transactions{query}"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let ids = |p: &Value| -> Vec<String> {
        p["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["transactionId"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = page("?limit=2").await;
    assert_eq!(ids(&first), ["h4", "h3"]);
    assert_eq!(first["hasMore"], true);
    let next = first["next"].as_i64().unwrap();
    let (_, second) = s
        .call(
            Method::GET,
            &format!("/customers/h1/transactions?limit=2&before={next}"),
            None,
        )
        .await;
    assert_eq!(ids(&second), ["h2", "h1"]);
    let all = page("").await;
    assert_eq!(ids(&all), ["h4", "h3", "h2", "h1", "h0"]);
    assert_eq!(all["hasMore"], false);
    assert_eq!(all["next"], Value::Null);
    assert!(
        all["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["customerId"] == "h1")
    );

    s.refused(
        Method::GET,
        "/customers/nobody/transactions",
        None,
        StatusCode::NOT_FOUND,
        7000,
    )
    .await;
    s.refused(
        Method::GET,
        "/customers/h1/transactions?limit=0",
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        3003,
    )
    .await;
    // Another tenant's customer is unknown.
    let resp = s
        .as_b(Method::GET, &format!("{BASE}/customers/h1/transactions"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, 7000).await;
}

crate::on_both_backends!(
    movements_are_listed_filtered_and_paged,
    a_customers_history_is_newest_first_and_paged
);
