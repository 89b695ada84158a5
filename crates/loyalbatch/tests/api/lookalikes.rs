//! Ids that look alike are refused, not counted twice: a leading or trailing
//! space, a zero-width or direction character, a byte-order mark — in every id
//! field, in single calls and batch items alike, on both backends.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// `tx-1` as an attacker wrote it again and again to earn its cashback each time.
const LOOKALIKES: [&str; 7] = [
    "tx-1 ",
    " tx-1",
    "tx-1\u{a0}",
    "tx\u{200d}-1",
    "tx\u{200b}-1",
    "\u{feff}tx-1",
    "tx-1\u{202e}",
];

fn cashback(customer: &str, transaction: &str) -> serde_json::Value {
    json!({"customerId": customer, "transactionId": transaction,
           "transactionTime": "2025-01-01T00:00:00Z", "amount": 100})
}

async fn lookalike_ids_are_refused_and_earn_nothing() {
    let s = TestServer::paused().await;
    let (status, _) = s
        .post("/transactions/cashback", cashback("c1", "tx-1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    for id in LOOKALIKES {
        let message = s
            .refused(
                Method::POST,
                "/transactions/cashback",
                Some(cashback("c1", id)),
                StatusCode::UNPROCESSABLE_ENTITY,
                3003,
            )
            .await;
        assert!(message.starts_with("transactionId: "), "{id:?}: {message}");
    }
    // A customer id of the same kind: refused before anything is created.
    for id in ["c1 ", "c\u{200b}1", "\u{feff}c1"] {
        s.refused(
            Method::POST,
            "/customers",
            Some(json!({"customerId": id})),
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
        )
        .await;
    }
    // The same in a batch: each look-alike fails alone with 3003.
    let items: Vec<_> = LOOKALIKES.iter().map(|id| cashback("c1", id)).collect();
    let job = s.submit("cashback", json!(items)).await;
    s.drain().await;
    let status = s.status(job).await;
    assert_eq!(status["errorCount"], LOOKALIKES.len(), "{status}");
    for failed in status["response"]["failed"].as_array().unwrap() {
        assert_eq!(failed["code"], 3003, "{failed}");
    }
    // Orders and holds are ids too.
    let order = json!({"customerId": "c1", "orderId": "o-1\u{200d}", "orderDate": "2025-01-01T00:00:00Z", "totalPaid": 10});
    s.refused(
        Method::POST,
        "/orders",
        Some(order),
        StatusCode::UNPROCESSABLE_ENTITY,
        3003,
    )
    .await;
    // Earned once: 100 points for the one real transaction.
    assert_eq!(s.balance("c1").await["availablePointsBalance"], 100);
}

crate::on_both_backends!(lookalike_ids_are_refused_and_earn_nothing);
