//! API tests: the points ledger through single calls and batches (SPEC §4, §5.3–§5.6, §6).

use crate::common::*;
use domain::settings::ProgramSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

pub(crate) fn in_minutes(m: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::minutes(m))
        .format(&Rfc3339)
        .unwrap()
}

pub(crate) async fn cashback(s: &TestServer, customer: &str, tx: &str, amount: Value) -> Value {
    let (status, body) = s.post("/transactions/cashback",
        json!({"customerId": customer, "transactionId": tx, "transactionTime": now(), "amount": amount}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn configure(s: &TestServer, change: impl FnOnce(&mut ProgramSettings)) {
    let mut settings = s.store.tenant_settings("tenant-a").await.unwrap();
    change(&mut settings);
    // Through the application layer, as the CLI does: this node's cache of
    // the settings is dropped at once.
    s.app
        .tenants()
        .set_settings("tenant-a", settings)
        .await
        .unwrap();
}

async fn cashback_then_redeem_through_single_calls() {
    let s = TestServer::paused().await;
    let earned = cashback(&s, "c1", "order-1", json!(250.75)).await;
    assert_eq!(earned["customerId"], "c1");
    assert_eq!(earned["transactionId"], "order-1");
    assert_eq!(earned["rewardEquivalentPoints"], 250);
    assert_eq!(earned["rewardAmount"], json!(25));
    assert!(earned["gameballTransactionId"].as_i64().unwrap() > 0);

    let b = s.balance("c1").await;
    assert_eq!(b["availablePointsBalance"], 250);
    assert_eq!(b["availablePointsValue"], json!(25));
    assert_eq!(b["totalPointsBalance"], 250);
    assert_eq!(b["pendingPoints"], 0);
    assert_eq!(b["currency"], "USD");
    assert_eq!(b["pointsName"], "Points");
    assert_eq!(b["totalEarnedPoints"], 250);
    assert_eq!(b["nextExpiringPointsDate"], Value::Null);

    let (status, spent) = s.post("/transactions/redeem", json!({"customerId": "c1", "transactionId": "r-1", "transactionTime": now(), "amount": 5.01})).await;
    assert_eq!(status, StatusCode::OK, "{spent}");
    assert_eq!(spent["redeemEquivalentPoints"], 51, "ceil(5.01 / 0.1)");
    assert_eq!(spent["redeemAmount"], json!(5.01));
    let (_, spent) = s.post("/transactions/redeem",
        json!({"customerId": "c1", "transactionId": "r-2", "transactionTime": now(), "points": 99}),
    )
    .await;
    assert_eq!(spent["redeemEquivalentPoints"], 99);
    assert_eq!(s.balance("c1").await["availablePointsBalance"], 100);

    let msg = s.refused(Method::POST, "/transactions/redeem", Some(json!({"customerId": "c1", "transactionId": "r-3", "transactionTime": now(), "points": 101})), StatusCode::UNPROCESSABLE_ENTITY, 9008).await;
    assert_eq!(msg, "points: needs 101 points but only 100 are available");
    let msg = s.refused(Method::POST, "/transactions/redeem", Some(json!({"customerId": "c1", "transactionId": "r-1", "transactionTime": now(), "points": 1})), StatusCode::UNPROCESSABLE_ENTITY, 9004).await;
    assert_eq!(
        msg,
        "transactionId: \"r-1\" was already used in this account"
    );
    let msg = s.refused(Method::POST, "/transactions/cashback", Some(json!({"customerId": "c1", "transactionId": "late", "transactionTime": in_minutes(6), "amount": 1})), StatusCode::UNPROCESSABLE_ENTITY, 9007).await;
    assert_eq!(msg, "transactionTime: more than 5 minutes in the future");
    let msg = s.refused(Method::POST, "/transactions/redeem", Some(json!({"customerId": "ghost", "transactionId": "g", "transactionTime": now(), "points": 1})), StatusCode::NOT_FOUND, 7000).await;
    assert_eq!(msg, "customerId: no customer \"ghost\"");
    s.refused(
        Method::GET,
        "/customers/ghost/balance",
        None,
        StatusCode::NOT_FOUND,
        7000,
    )
    .await;
    let msg = s
        .refused(
            Method::POST,
            "/transactions/cashback",
            Some(json!({"customerId": "c1", "transactionTime": now(), "amount": 1})),
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
    assert_eq!(msg, "transactionId: required");
    let msg = s.refused(Method::POST, "/transactions/cashback", Some(json!({"customerId": "c1", "transactionId": "neg", "transactionTime": now(), "amount": -1})), StatusCode::UNPROCESSABLE_ENTITY, 3003).await;
    assert_eq!(msg, "amount: must not be negative");
    assert_eq!(
        s.balance("c1").await["availablePointsBalance"],
        100,
        "refusals moved nothing"
    );
    assert_eq!(s.count_rows("SELECT count(*) FROM movements").await, 3);
}

async fn another_tenant_sees_nothing_and_the_secret_is_required() {
    let s = TestServer::paused().await;
    cashback(&s, "c1", "t1", json!(10)).await;
    let resp = s
        .as_b(Method::GET, &format!("{BASE}/customers/c1/balance"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, 7000).await;
    // Tenant B may use the same transaction id: uniqueness is per tenant.
    let resp = s
        .as_b(Method::POST, &format!("{BASE}/transactions/cashback"))
        .json(&json!({"customerId": "c1", "transactionId": "t1", "transactionTime": now(), "amount": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = s
        .request(Method::POST, &format!("{BASE}/transactions/redeem"))
        .header("apikey", &s.a.apikey)
        .json(&json!({"customerId": "c1", "transactionId": "x", "transactionTime": now(), "points": 1}))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, 1001).await;
}

async fn holds_reserve_points_until_used_or_released() {
    let s = TestServer::paused().await;
    cashback(&s, "c1", "t1", json!(100)).await;
    let (status, held) = s
        .post(
            "/transactions/hold",
            json!({"customerId": "c1", "transactionTime": now(), "pointsToHold": 60}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!(held["holdEquivalentPoints"], 60);
    assert_eq!(held["holdAmount"], json!(6));
    let reference = held["holdReference"].as_str().unwrap().to_owned();
    assert_eq!(
        s.balance("c1").await["availablePointsBalance"],
        40,
        "held points are not available"
    );
    assert_eq!(
        s.balance("c1").await["totalPointsBalance"],
        40,
        "nor pending"
    );

    let (status, view) = s
        .call(
            Method::GET,
            &format!("/transactions/hold/{reference}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["state"], "active");
    assert_eq!(view["customerId"], "c1");
    assert_eq!(view["holdEquivalentPoints"], 60);
    assert!(view["dateToExpire"].as_str().unwrap().ends_with('Z'));

    let msg = s
        .refused(
            Method::POST,
            "/transactions/hold",
            Some(json!({"customerId": "c1", "transactionTime": now(), "pointsToHold": 41})),
            StatusCode::UNPROCESSABLE_ENTITY,
            9008,
        )
        .await;
    assert_eq!(
        msg,
        "pointsToHold: needs 41 points but only 40 are available"
    );

    let (status, spent) = s.post("/transactions/redeem", json!({"customerId": "c1", "transactionId": "r1", "transactionTime": now(), "holdReference": reference})).await;
    assert_eq!(status, StatusCode::OK, "{spent}");
    assert_eq!(spent["redeemEquivalentPoints"], 60);
    let (_, view) = s
        .call(
            Method::GET,
            &format!("/transactions/hold/{reference}"),
            None,
        )
        .await;
    assert_eq!(view["state"], "used");
    let msg = s.refused(Method::POST, "/transactions/redeem", Some(json!({"customerId": "c1", "transactionId": "r2", "transactionTime": now(), "holdReference": reference})), StatusCode::NOT_FOUND, 9006).await;
    assert!(msg.starts_with("holdReference: "), "{msg}");
    s.refused(
        Method::DELETE,
        &format!("/transactions/hold/{reference}"),
        None,
        StatusCode::NOT_FOUND,
        9006,
    )
    .await;

    let (_, second) = s
        .post(
            "/transactions/hold",
            json!({"customerId": "c1", "transactionTime": now(), "amountToHold": 2.05}),
        )
        .await;
    assert_eq!(second["holdEquivalentPoints"], 21, "ceil(2.05 / 0.1)");
    let second = second["holdReference"].as_str().unwrap().to_owned();
    let resp = s
        .as_b(Method::GET, &format!("{BASE}/transactions/hold/{second}"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, 4004).await;
    let (status, released) = s
        .call(
            Method::DELETE,
            &format!("/transactions/hold/{second}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        released,
        json!({"success": true, "message": "Hold released successfully"})
    );
    let (_, view) = s
        .call(Method::GET, &format!("/transactions/hold/{second}"), None)
        .await;
    assert_eq!(view["state"], "released");
    assert_eq!(s.balance("c1").await["availablePointsBalance"], 40);
    s.refused(
        Method::GET,
        "/transactions/hold/nope",
        None,
        StatusCode::NOT_FOUND,
        4004,
    )
    .await;
}

async fn manual_adjustments_follow_gameball() {
    let s = TestServer::paused().await;
    cashback(&s, "c1", "t1", json!(10)).await;
    let (status, added) = s.post("/transactions/manual", json!({"customerId": "c1", "transactionId": "m1", "username": "ops", "reason": "goodwill", "points": 50, "expiryAfter": 30})).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["points"], 50);
    let (_, by_money) = s.post("/transactions/manual", json!({"customerId": "c1", "transactionId": "m2", "username": "ops", "reason": "refund", "amount": 2.59})).await;
    assert_eq!(
        by_money["points"], 25,
        "money converts at redemptionFactor, rounded toward zero"
    );
    let b = s.balance("c1").await;
    assert_eq!(b["availablePointsBalance"], 85);
    assert_eq!(b["nextExpiringPointsAmount"], 50);
    let msg = s.refused(Method::POST, "/transactions/manual", Some(json!({"customerId": "c1", "transactionId": "m3", "username": "ops", "reason": "fix", "points": -86})), StatusCode::UNPROCESSABLE_ENTITY, 9008).await;
    assert_eq!(msg, "amount: needs 86 points but only 85 are available");
    let msg = s
        .refused(
            Method::POST,
            "/transactions/manual",
            Some(json!({"customerId": "c1", "transactionId": "m3", "reason": "fix", "points": 1})),
            StatusCode::BAD_REQUEST,
            3000,
        )
        .await;
    assert_eq!(msg, "username: required");
    let (status, _) = s.post("/transactions/manual", json!({"customerId": "c1", "transactionId": "m3", "username": "ops", "reason": "fix", "points": -85})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.balance("c1").await["availablePointsBalance"], 0);
}

async fn settings_shape_the_maths_and_the_configuration_routes() {
    let s = TestServer::paused().await;
    let (status, c) = s.call(Method::GET, "/configurations/cashback", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        c["defaultCashbackRule"],
        json!({"amountRewardThreshold": 1, "rewardWalletFactor": 1})
    );
    let (_, r) = s
        .call(Method::GET, "/configurations/redemption", None)
        .await;
    assert_eq!(r["redemptionFactor"], json!(0.1));
    assert_eq!(r["currency"], "USD");
    configure(&s, |p| {
        p.reward_wallet_factor = "5".parse().unwrap();
        p.amount_reward_threshold = "2".parse().unwrap();
        p.redemption_factor = "0.05".parse().unwrap();
        p.return_window_days = 14;
        p.points_name = "Stars".into();
        p.currency = "EGP".into();
    })
    .await;
    let (_, c) = s.call(Method::GET, "/configurations/cashback", None).await;
    assert_eq!(
        c["defaultCashbackRule"],
        json!({"amountRewardThreshold": 2, "rewardWalletFactor": 5})
    );
    assert_eq!(c["returnWindowDays"], 14);
    let earned = cashback(&s, "c1", "t1", json!(9.99)).await;
    assert_eq!(earned["rewardEquivalentPoints"], 24, "floor(9.99 × 5 ÷ 2)");
    let b = s.balance("c1").await;
    assert_eq!(
        (
            b["availablePointsBalance"].clone(),
            b["pendingPoints"].clone()
        ),
        (json!(0), json!(24))
    );
    assert_eq!(b["pendingPointsValue"], json!(1.2));
    assert_eq!(
        (b["pointsName"].clone(), b["currency"].clone()),
        (json!("Stars"), json!("EGP"))
    );
    // Pending points cannot be spent.
    s.refused(Method::POST, "/transactions/redeem", Some(json!({"customerId": "c1", "transactionId": "r", "transactionTime": now(), "points": 1})), StatusCode::UNPROCESSABLE_ENTITY, 9008).await;
    // A per-transaction return window overrides the tenant's.
    let (_, earned) = s.post("/transactions/cashback", json!({"customerId": "c1", "transactionId": "t2", "transactionTime": now(), "amount": 2, "configurations": {"returnWindow": 0}})).await;
    assert_eq!(earned["rewardEquivalentPoints"], 5);
    assert_eq!(s.balance("c1").await["availablePointsBalance"], 5);
}

async fn high_security_off_opens_no_reads_and_no_points() {
    let s = TestServer::paused().await;
    configure(&s, |p| p.high_security = false).await;
    let apikey_only = |m: Method, path: &str| {
        s.request(m, &format!("{BASE}{path}"))
            .header("apikey", &s.a.apikey)
    };
    // The program's settings are read with both keys only (issue 21), like balances.
    let resp = apikey_only(Method::GET, "/configurations/redemption")
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, 1001).await;
    cashback(&s, "c1", "t1", json!(10)).await;
    let resp = apikey_only(Method::GET, "/customers/c1/balance")
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, 1001).await;
}

async fn rewarded_events_credit_points() {
    let s = TestServer::paused().await;
    configure(&s, |p| {
        p.event_rewards.insert("review".into(), 20);
    })
    .await;
    let job = s
        .submit(
            "events",
            json!([
                {"customerId": "c1", "events": {"review": {"stars": 5}, "view": {}}},
                {"customerId": "c1", "events": {"view": {}}}
            ]),
        )
        .await;
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(done["response"]["successful"][0]["rewardedPoints"], 20);
    assert_eq!(done["response"]["successful"][1]["rewardedPoints"], 0);
    let (status, _) = s
        .post(
            "/events",
            json!({"customerId": "c1", "events": {"review": {}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.balance("c1").await["availablePointsBalance"], 40);
}

/// Numbers and options as Gameball clients write them: `5.0` is 5,
/// `expiryAfter: 0` is "not given", and a deduction may not have an expiry —
/// refused the same by the single call and the batch item.
async fn gameball_client_numbers_and_options() {
    let s = TestServer::running().await;
    let (status, _) = s.post("/customers", json!({"customerId": "g1"})).await;
    assert_eq!(status, StatusCode::OK);
    let manual = |id: &str, points: Value, expiry: Value| {
        json!({"customerId": "g1", "transactionId": id, "username": "u", "reason": "r",
               "points": points, "expiryAfter": expiry})
    };
    let (status, body) = s
        .post(
            "/transactions/manual",
            manual("m1", json!(5.0), json!(30.0)),
        )
        .await;
    assert_eq!(
        (status, body["points"].as_i64()),
        (StatusCode::OK, Some(5)),
        "{body}"
    );
    let (status, body) = s
        .post("/transactions/manual", manual("m2", json!(-2), json!(0)))
        .await;
    assert_eq!(
        (status, body["points"].as_i64()),
        (StatusCode::OK, Some(-2)),
        "{body}"
    );
    let message = s
        .refused(
            Method::POST,
            "/transactions/manual",
            Some(manual("m3", json!(-1), json!(30))),
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
        )
        .await;
    assert!(
        message.starts_with("expiryAfter: only for additions"),
        "{message}"
    );
    s.refused(
        Method::POST,
        "/transactions/manual",
        Some(manual("m4", json!(1.5), Value::Null)),
        StatusCode::UNPROCESSABLE_ENTITY,
        3003,
    )
    .await;
    let job = s
        .submit(
            "balance-adjustment",
            json!([
                {"customerId": "g1", "amount": 2.0},
                {"customerId": "g1", "amount": -1, "expiryAfter": 30}
            ]),
        )
        .await;
    let status = s.wait_for(job, wire::JobState::Completed).await;
    assert_eq!(status["response"]["successful"][0]["points"], 2);
    assert!(
        status["response"]["failed"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("expiryAfter: only for additions")
    );
    assert_eq!(s.balance("g1").await["availablePointsBalance"], 5);
}

crate::on_both_backends!(
    gameball_client_numbers_and_options,
    cashback_then_redeem_through_single_calls,
    another_tenant_sees_nothing_and_the_secret_is_required,
    holds_reserve_points_until_used_or_released,
    manual_adjustments_follow_gameball,
    settings_shape_the_maths_and_the_configuration_routes,
    high_security_off_opens_no_reads_and_no_points,
    rewarded_events_credit_points,
);
