//! API tests: single calls arriving together (PostgreSQL groups them into
//! shared transactions, SQLite's writer into shared commits) each get the
//! answer they would get alone, and store what they would store alone.

use crate::common::*;
use crate::ledger::{cashback, now};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

async fn single_calls_arriving_together_each_get_their_own_answer() {
    let s = TestServer::paused().await;
    cashback(&s, "rich", "seed", json!(100)).await;
    let t = now();
    let mut calls: Vec<(&str, Value)> = Vec::new();
    for i in 0..20 {
        let body = json!({"customerId": format!("g{i}"), "transactionId": format!("g-{i}"), "transactionTime": t, "amount": 10});
        calls.push(("/transactions/cashback", body));
    }
    for i in 0..10 {
        let body = json!({"customerId": format!("d{i}"), "transactionId": "dup", "transactionTime": t, "amount": 5});
        calls.push(("/transactions/cashback", body));
    }
    for i in 0..15 {
        let body = json!({"customerId": "rich", "transactionId": format!("r-{i}"), "transactionTime": t, "points": 10});
        calls.push(("/transactions/redeem", body));
    }
    for i in 0..10 {
        calls.push(("/customers", json!({"customerId": format!("u{i}")})));
    }
    for i in 0..5 {
        let body = json!({"customerId": format!("ghost{i}"), "transactionId": format!("m-{i}"), "username": "ops", "reason": "fix", "points": 5});
        calls.push(("/transactions/manual", body));
    }
    let answers =
        futures::future::join_all(calls.iter().map(|(path, body)| s.post(path, body.clone())))
            .await;
    let tally = |from: usize, to: usize| -> Vec<(StatusCode, Option<i64>)> {
        answers[from..to]
            .iter()
            .map(|(st, b)| (*st, b["code"].as_i64()))
            .collect()
    };
    let count = |v: &[(StatusCode, Option<i64>)], want: (StatusCode, Option<i64>)| {
        v.iter().filter(|a| **a == want).count()
    };
    let ok = (StatusCode::OK, None);
    // Every cashback with its own transaction id earned, each its own points.
    for (i, (status, body)) in answers[..20].iter().enumerate() {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["customerId"], format!("g{i}"));
        assert_eq!(body["rewardEquivalentPoints"], 10);
    }
    let ids: HashSet<&Value> = answers[..20]
        .iter()
        .map(|(_, b)| &b["gameballTransactionId"])
        .collect();
    assert_eq!(ids.len(), 20, "each its own gameballTransactionId");
    // One transaction id used ten times: once.
    let dup = tally(20, 30);
    let refused = (StatusCode::UNPROCESSABLE_ENTITY, Some(9004));
    assert_eq!((count(&dup, ok), count(&dup, refused)), (1, 9), "{dup:?}");
    // 150 points asked for against 100: exactly ten passed, five refused.
    let redeems = tally(30, 45);
    let short = (StatusCode::UNPROCESSABLE_ENTITY, Some(9008));
    assert_eq!(
        (count(&redeems, ok), count(&redeems, short)),
        (10, 5),
        "{redeems:?}"
    );
    assert!(answers[45..55].iter().all(|(st, _)| *st == StatusCode::OK));
    let ghosts = tally(55, 60);
    assert_eq!(
        count(&ghosts, (StatusCode::NOT_FOUND, Some(7000))),
        5,
        "{ghosts:?}"
    );

    assert_eq!(s.balance("rich").await["availablePointsBalance"], 0);
    for i in [0, 7, 19] {
        assert_eq!(
            s.balance(&format!("g{i}")).await["availablePointsBalance"],
            10
        );
    }
    assert_eq!(
        s.count_rows("SELECT count(*) FROM movements").await,
        1 + 20 + 1 + 10,
        "the seed, the cashbacks, one 'dup', ten redemptions"
    );
    assert_eq!(
        s.count_rows("SELECT count(*) FROM customers").await,
        1 + 20 + 1 + 10
    );
    // Each movement keeps the index its call gave it, whichever group it was in.
    assert_eq!(
        s.count_rows("SELECT count(DISTINCT coalesce(item_index, -1)) FROM movements")
            .await,
        1
    );
}

crate::on_both_backends!(single_calls_arriving_together_each_get_their_own_answer);
