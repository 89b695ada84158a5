//! API tests: ledger batches (balance inquiries, adjustments, cashback, redemptions) report every item, and a ledger can be rebuilt from its movements.

use crate::common::*;
use crate::ledger::{cashback, now};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

async fn ledger_batches_report_every_item() {
    let s = TestServer::paused().await;
    let t = now();
    let earn = s
        .submit(
            "cashback",
            json!([
                {"customerId": "a", "transactionId": "o1", "transactionTime": t, "amount": 100},
                {"customerId": "b", "transactionId": "o2", "transactionTime": t, "amount": "40.5"},
                {"customerId": "a", "transactionId": "o1", "transactionTime": t, "amount": 5},
                {"customerId": "a", "transactionId": "o3", "transactionTime": "soon", "amount": 5},
                {"customerId": "a", "transactionTime": t, "amount": 5}
            ]),
        )
        .await;
    s.drain().await;
    let done = s.status(earn).await;
    assert_eq!(done["operation"], "Cashback Reward Batch Job");
    assert_eq!(
        (done["finishedCount"].clone(), done["errorCount"].clone()),
        (json!(2), json!(3))
    );
    let failed = &done["response"]["failed"];
    assert_eq!(
        failed[0],
        json!({"index": 2, "customerId": "a", "transactionId": "o1", "code": 9004,
        "error": "transactionId: \"o1\" was already used in this account", "message": "transactionId: \"o1\" was already used in this account"})
    );
    assert_eq!(failed[1]["code"], 3003);
    assert_eq!(failed[1]["transactionId"], "o3");
    assert_eq!(failed[2]["code"], 3000);
    assert_eq!(
        done["response"]["successful"][1]["rewardEquivalentPoints"],
        40
    );

    let spend = s
        .submit(
            "redeem",
            json!([
                {"customerId": "a", "transactionId": "r1", "transactionTime": t, "points": 70},
                {"customerId": "a", "transactionId": "r2", "transactionTime": t, "points": 70},
                {"customerId": "b", "transactionId": "o1", "transactionTime": t, "points": 1},
                {"customerId": "z", "transactionId": "r3", "transactionTime": t, "points": 1}
            ]),
        )
        .await;
    let adjust = s
        .submit(
            "balance-adjustment",
            json!([
                {"customerId": "a", "amount": 5, "reason": "bonus"},
                {"customerId": "b", "amount": -41},
                {"customerId": "b", "amount": -40, "transactionId": "fix-b"}
            ]),
        )
        .await;
    let inquiry = s
        .submit(
            "balance-inquiry",
            json!([{"customerId": "a"}, {"customerId": "b"}, {"customerId": "z"}]),
        )
        .await;
    s.drain().await;
    let done = s.status(spend).await;
    assert_eq!(done["operation"], "Redemption Batch Job");
    let codes: Vec<Value> = done["response"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].clone())
        .collect();
    assert_eq!(codes, [json!(9008), json!(9004), json!(7000)]);
    let done = s.status(adjust).await;
    assert_eq!(
        done["response"]["successful"][0],
        json!({"index": 0, "customerId": "a", "transactionId": format!("adj-{adjust}-0"),
        "gameballTransactionId": done["response"]["successful"][0]["gameballTransactionId"], "points": 5})
    );
    assert_eq!(done["response"]["failed"][0]["code"], 9008);
    assert_eq!(
        done["response"]["failed"][0]["transactionId"],
        format!("adj-{adjust}-1")
    );
    let done = s.status(inquiry).await;
    assert_eq!(done["operation"], "Balance Inquiry Batch Job");
    let ok = &done["response"]["successful"];
    assert_eq!(
        (
            ok[0]["customerId"].clone(),
            ok[0]["availablePointsBalance"].clone()
        ),
        (json!("a"), json!(35))
    );
    assert_eq!(ok[1]["availablePointsBalance"], 0);
    assert_eq!(ok[1]["totalEarnedPoints"], 40);
    assert_eq!(done["response"]["failed"][0]["code"], 7000);
    assert_eq!(
        s.count_rows("SELECT count(*) FROM customers WHERE customer_id = 'z'")
            .await,
        0,
        "a failed lookup creates nobody"
    );
}

async fn the_ledger_can_be_rebuilt_from_its_movements() {
    let s = TestServer::paused().await;
    cashback(&s, "c1", "t1", json!(100)).await;
    let (_, held) = s
        .post(
            "/transactions/hold",
            json!({"customerId": "c1", "transactionTime": now(), "pointsToHold": 30}),
        )
        .await;
    s.post(
        "/transactions/redeem",
        json!({"customerId": "c1", "transactionId": "r1", "transactionTime": now(), "points": 20}),
    )
    .await;
    s.call(
        Method::DELETE,
        &format!(
            "/transactions/hold/{}",
            held["holdReference"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let tenant = s
        .store
        .tenant_by_apikey(&s.a.apikey)
        .await
        .unwrap()
        .unwrap()
        .id;
    let movements = s.store.movements(tenant, "c1").await.unwrap();
    let kinds: Vec<&str> = movements.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["cashback", "hold", "redemption", "hold_release"]);
    let replayed =
        domain::ledger::Ledger::replay(movements.iter().map(|m| (m.id, m.created_at, &m.entry)));
    let stored = s
        .store
        .customer(tenant, "c1")
        .await
        .unwrap()
        .unwrap()
        .record
        .ledger;
    let at = store::to_millis(OffsetDateTime::now_utc());
    assert_eq!(replayed.balance(at), stored.balance(at));
    assert_eq!(stored.balance(at).available, 80);
}

crate::on_both_backends!(
    ledger_batches_report_every_item,
    the_ledger_can_be_rebuilt_from_its_movements,
);
