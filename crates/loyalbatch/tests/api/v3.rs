//! API tests: the Gameball v3.0 routes, with bodies exactly as the Python
//! (`gb-alpha` 3.0) and PHP (`gameball-php` 3.0) SDKs send them — every field
//! present, `null` when unset, tags as a string, PHP's `{}` for `[]`.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wire::JobState;

const V3: &str = "/api/v3.0/integrations";
/// What `encode_date(datetime.utcnow())` writes: microseconds and `Z`.
const NOW: &str = "2025-03-14T10:00:00.570069Z";

/// A v3 call as tenant A, headers spelled as the SDKs spell them.
async fn v3(
    s: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s
        .request(method, &format!("{V3}{path}"))
        .header("APIKey", &s.a.apikey)
        .header("secretKey", &s.a.secretkey);
    if let Some(b) = body {
        req = req.json(&b);
    }
    read(req.send().await.unwrap()).await
}

async fn ok(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, body) = v3(s, method, path, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn python_player(id: &str, display_name: Value) -> Value {
    json!({"playerUniqueId": id, "playerAttributes": {"displayName": display_name,
        "firstName": null, "lastName": null, "mobile": null, "email": "jane@x.io", "gender": null,
        "dateOfBirth": null, "joinDate": "2024-01-02T00:00:00Z", "tags": "vip, gold", "custom": null},
        "referrerCode": null, "levelOrder": null})
}

async fn players_are_upserted_without_their_nulls_clearing_anything() {
    let s = TestServer::running().await;
    let saved = ok(
        &s,
        Method::POST,
        "/player",
        Some(python_player("p1", json!("Jane"))),
    )
    .await;
    assert_eq!(saved["playerUniqueId"], "p1");
    assert!(saved["gameballId"].as_i64().unwrap() > 0);
    // The SDK sends every attribute; the unset ones are null and change nothing.
    ok(
        &s,
        Method::POST,
        "/player",
        Some(python_player("p1", Value::Null)),
    )
    .await;
    let player = ok(&s, Method::GET, "/player/p1", None).await;
    assert_eq!(player["playerAttributes"]["displayName"], "Jane");
    assert_eq!(player["playerAttributes"]["tags"], json!(["vip", "gold"]));
    assert_eq!(player["playerAttributes"]["joinDate"], "2024-01-02");
    assert_eq!(player["gameballId"], saved["gameballId"]);
    // The same customer through v4.
    let (status, v4) = s.call(Method::GET, "/customers/p1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v4["customerAttributes"]["displayName"], "Jane");
    // Tags as the SDKs send them: a comma-separated string.
    ok(
        &s,
        Method::POST,
        "/player/p1/tags",
        Some(json!({"tags": "new,vip"})),
    )
    .await;
    ok(
        &s,
        Method::DELETE,
        "/player/p1/tags",
        Some(json!({"tags": "gold"})),
    )
    .await;
    let player = ok(&s, Method::GET, "/player/p1", None).await;
    assert_eq!(player["playerAttributes"]["tags"], json!(["vip", "new"]));
    let (status, missing) = v3(&s, Method::GET, "/player/nobody", None).await;
    assert_eq!(
        (status, missing["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(7000))
    );
    assert!(missing["message"].is_string());
}

async fn points_move_through_cashback_holds_redemptions_manual_and_refunds() {
    let s = TestServer::running().await;
    let cashback = ok(
        &s,
        Method::POST,
        "/transaction/cashback",
        Some(json!({
        "playerUniqueId": "p1", "amount": 100, "transactionTime": NOW,
        "transactionId": "t1", "merchant": {"uniqueId": "m1", "name": "Shop"}})),
    )
    .await;
    assert_eq!(cashback["playerUniqueId"], "p1");
    assert_eq!(cashback["rewardedPoints"], 100);
    assert!(cashback["gameballTransactionId"].as_i64().is_some());
    let balance = ok(&s, Method::GET, "/player/p1/balance", None).await;
    assert_eq!(
        (
            balance["pointsBalance"].as_i64(),
            balance["pointsValue"].as_f64()
        ),
        (Some(100), Some(10.0))
    );
    assert_eq!(balance["availablePointsBalance"], 100);

    // A hold by money (redemptionFactor 0.1: 2 → 20 points), spent by redeem.
    let held = ok(
        &s,
        Method::POST,
        "/transaction/hold",
        Some(json!({
        "playerUniqueId": "p1", "amount": 2, "transactionTime": NOW})),
    )
    .await;
    assert_eq!(held["holdEquivalentPoints"], 20);
    let reference = held["holdReference"].as_str().unwrap().to_owned();
    let redeemed = ok(
        &s,
        Method::POST,
        "/transaction/redeem",
        Some(json!({
        "playerUniqueId": "p1", "transactionTime": NOW, "holdReference": reference,
        "redeemedAmount": null, "transactionId": "r1"})),
    )
    .await;
    assert_eq!(redeemed["redeemedPoints"], 20);
    assert_eq!(s.balance("p1").await["availablePointsBalance"], 80);

    // A hold released (the PHP SDK sends a body with the DELETE).
    let held = ok(
        &s,
        Method::POST,
        "/transaction/hold",
        Some(json!({
        "playerUniqueId": "p1", "amount": 1, "transactionTime": NOW})),
    )
    .await;
    let reference = held["holdReference"].as_str().unwrap();
    assert_eq!(s.balance("p1").await["availablePointsBalance"], 70);
    ok(
        &s,
        Method::DELETE,
        &format!("/transaction/hold/{reference}"),
        Some(json!({"playerUniqueId": "p1"})),
    )
    .await;
    assert_eq!(s.balance("p1").await["availablePointsBalance"], 80);

    // Redeeming money directly, and by hand.
    let direct = ok(
        &s,
        Method::POST,
        "/transaction/redeem",
        Some(json!({
        "playerUniqueId": "p1", "transactionTime": NOW, "holdReference": null,
        "redeemedAmount": 1, "transactionId": "r2"})),
    )
    .await;
    assert_eq!(direct["redeemedPoints"], 10);
    let manual = ok(
        &s,
        Method::POST,
        "/transaction/manual",
        Some(json!({
        "playerUniqueId": "p1", "amount": null, "points": 30, "transactionId": "m1",
        "transactionTime": NOW, "username": "agent", "reason": "goodwill"})),
    )
    .await;
    assert_eq!(manual["points"], 30);
    assert_eq!(s.balance("p1").await["availablePointsBalance"], 100);

    // Refunds: Python's names (half of t1), then PHP's (`reversedTransactionId`, the rest).
    let refund = ok(
        &s,
        Method::POST,
        "/transaction/refund",
        Some(json!({
        "playerUniqueId": "p1", "transactionId": "rf1", "reverseTransactionId": "t1",
        "transactionTime": NOW, "amount": 50})),
    )
    .await;
    assert_eq!(
        (
            refund["transactionId"].as_str(),
            refund["refundedPoints"].as_i64()
        ),
        (Some("rf1"), Some(50))
    );
    ok(
        &s,
        Method::POST,
        "/transaction/refund",
        Some(json!({
        "playerUniqueId": "p1", "transactionId": "rf2", "reversedTransactionId": "t1",
        "transactionTime": NOW})),
    )
    .await;
    assert_eq!(s.balance("p1").await["availablePointsBalance"], 0);

    pages_of_movements_and_refusals(&s).await;
}

/// The movements of the test above, paged as v3 pages, and the refusals.
async fn pages_of_movements_and_refusals(s: &TestServer) {
    // The movements, paged as v3 pages (a `+` sent unencoded arrives as a space).
    // Points added: the cashback, the released hold, the manual addition.
    let page = ok(
        s,
        Method::GET,
        "/transaction/list?page=1&limit=2&direction=+&",
        None,
    )
    .await;
    let types: Vec<&str> = page["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["PaymentReward", "HoldRelease"]);
    assert_eq!(page["hasMore"], true);
    let second = ok(
        s,
        Method::GET,
        "/transaction/list?page=2&limit=2&direction=%2B",
        None,
    )
    .await;
    assert_eq!(second["transactions"][0]["type"], "ManualAccumulation");
    assert_eq!(second["hasMore"], false);
    let (status, _) = v3(
        s,
        Method::GET,
        "/transaction/list?page=1000&limit=200",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The same rules refuse the same way, with {code, message}.
    let (status, e) = v3(
        s,
        Method::POST,
        "/transaction/manual",
        Some(json!({
        "playerUniqueId": "p1", "amount": null, "points": 5, "transactionId": "m1",
        "transactionTime": NOW, "username": "agent", "reason": "again"})),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_u64()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(9004))
    );
    assert!(e["message"].as_str().unwrap().contains("transactionId"));
}

async fn orders_spend_holds_and_php_bodies_are_read() {
    let s = TestServer::running().await;
    ok(
        &s,
        Method::POST,
        "/player",
        Some(python_player("p1", json!("Jane"))),
    )
    .await;
    ok(&s, Method::POST, "/transaction/manual", Some(json!({"playerUniqueId": "p1", "amount": null,
        "points": 100, "transactionId": "m1", "transactionTime": NOW, "username": "u", "reason": "r"}))).await;
    let held = ok(
        &s,
        Method::POST,
        "/transaction/hold",
        Some(json!({
        "playerUniqueId": "p1", "amount": 3, "transactionTime": NOW})),
    )
    .await;
    // As the PHP SDK encodes it: `[]` became `{}`, no totalTax.
    let order = ok(
        &s,
        Method::POST,
        "/order",
        Some(json!({"playerUniqueId": "p1", "orderId": "o1",
        "orderDate": NOW, "totalPaid": 40, "totalPrice": 45, "totalDiscount": 5, "totalShipping": 0,
        "lineItems": {}, "discountCodes": {}, "extra": {}, "redeemedAmount": 3,
        "holdReference": held["holdReference"], "guest": false, "source": 1})),
    )
    .await;
    assert_eq!(
        (
            order["rewardedPoints"].as_i64(),
            order["redeemedPoints"].as_i64()
        ),
        (Some(40), Some(30))
    );
    // 100 − 30 held and spent by the order + 40 earned on it.
    assert_eq!(s.balance("p1").await["availablePointsBalance"], 110);
    let (status, e) = v3(
        &s,
        Method::POST,
        "/order",
        Some(json!({"playerUniqueId": "p1", "orderId": "o2",
        "orderDate": NOW, "totalPaid": 10, "redeemedAmount": 2, "holdReference": null})),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_u64()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(3003))
    );
    let config = ok(&s, Method::GET, "/config", None).await;
    assert_eq!(config["redemption"]["redemptionFactor"], 0.1);
    assert_eq!(
        config["cashback"]["defaultCashbackRule"]["rewardWalletFactor"],
        1
    );
}

/// `POST /batch` as the SDKs send it; answers the job id alone.
async fn batch(s: &TestServer, envelope: Value) -> i64 {
    let resp = s
        .request(Method::POST, &format!("{V3}/batch"))
        .header("APIKey", &s.a.apikey)
        .header("secretKey", &s.a.secretkey)
        .json(&envelope)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    // Python: json.loads(body); PHP: the body's last non-empty line.
    let python: i64 = serde_json::from_str(&text).unwrap();
    let php = text.lines().rfind(|l| !l.is_empty()).unwrap();
    assert_eq!(php, python.to_string());
    python
}

async fn batches_of_each_operation_run_as_v4_jobs() {
    let s = TestServer::running().await;
    let cashback = batch(
        &s,
        json!({"method": "POST", "operation": "cashback", "params": {}, "body": [
        {"playerUniqueId": "p1", "amount": 10, "mobile": null, "email": null, "transactionId": "b1",
         "transactionTime": NOW, "merchant": null},
        {"playerUniqueId": "p2", "amount": 20, "mobile": null, "email": null, "transactionId": "b2",
         "transactionTime": NOW, "merchant": null},
        {"playerUniqueId": "p1", "amount": null, "transactionId": "b3", "transactionTime": NOW}]}),
    )
    .await;
    let status = s.wait_for(cashback, JobState::Completed).await;
    assert_eq!(
        (
            status["finishedCount"].as_u64(),
            status["errorCount"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(status["type"], "cashback");
    let got = ok(&s, Method::GET, &format!("/batch/{cashback}"), None).await;
    assert_eq!(got["jobId"], cashback);

    let redeem = batch(
        &s,
        json!({"method": "POST", "operation": "REDEEM", "params": [], "body": [
        {"playerUniqueId": "p2", "email": null, "mobile": null, "holdReference": null,
         "transactionId": "br1", "redeemedAmount": 1, "transactionTime": NOW}]}),
    )
    .await;
    s.wait_for(redeem, JobState::Completed).await;
    assert_eq!(s.balance("p2").await["availablePointsBalance"], 10);

    let balance = batch(
        &s,
        json!({"method": "POST", "operation": "balance", "params": {},
        "body": {"playerUniqueIds": ["p1", "p2", "nobody"]}}),
    )
    .await;
    let status = s.wait_for(balance, JobState::Completed).await;
    let successful = status["response"]["successful"].as_array().unwrap();
    assert_eq!(successful[1]["availablePointsBalance"], 10);
    assert_eq!(status["response"]["failed"][0]["code"], 7000);

    // Stopping a finished job is a conflict, as in v4.
    let (code, e) = v3(&s, Method::DELETE, &format!("/batch/{balance}"), None).await;
    assert_eq!(
        (code, e["code"].as_u64()),
        (StatusCode::CONFLICT, Some(4009))
    );
    let (code, e) = v3(
        &s,
        Method::POST,
        "/batch",
        Some(json!({"method": "POST", "operation": "orders", "body": []})),
    )
    .await;
    assert_eq!(
        (code, e["code"].as_u64()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(3003))
    );
    let (code, _) = v3(
        &s,
        Method::POST,
        "/batch",
        Some(json!({"operation": "cashback", "body": []})),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    // A method the operation does not take is refused, creating nothing; a
    // huge operation is quoted short.
    let jobs = s.job_count(&s.a).await;
    let item = json!({"playerUniqueId": "p9", "transactionId": "d1", "transactionTime": "2025-01-01T00:00:00Z", "amount": 1});
    let (code, e) = v3(
        &s,
        Method::POST,
        "/batch",
        Some(json!({"method": "DELETE", "operation": "cashback", "body": [item]})),
    )
    .await;
    assert_eq!(
        (code, e["code"].as_u64()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(3003)),
        "{e}"
    );
    assert!(
        e["message"].as_str().unwrap().starts_with("method: "),
        "{e}"
    );
    let huge = "x".repeat(1 << 20);
    let (code, e) = v3(
        &s,
        Method::POST,
        "/batch",
        Some(json!({"method": "POST", "operation": huge, "body": []})),
    )
    .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e.to_string().len() < 1000,
        "the refusal echoes {} bytes",
        e.to_string().len()
    );
    assert_eq!(s.job_count(&s.a).await, jobs, "nothing created");
}

async fn calls_that_move_points_need_the_secret() {
    let s = TestServer::running().await;
    let resp = s
        .request(Method::POST, &format!("{V3}/transaction/cashback"))
        .header("APIKey", &s.a.apikey)
        .json(&json!({"playerUniqueId": "p1", "amount": 1, "transactionTime": NOW, "transactionId": "t"}))
        .send()
        .await
        .unwrap();
    let (status, e) = read(resp).await;
    assert_eq!(
        (status, e["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(1001))
    );
    assert_eq!(
        e["error"], e["code"],
        "both documented error shapes at once"
    );
}

crate::on_both_backends!(
    players_are_upserted_without_their_nulls_clearing_anything,
    points_move_through_cashback_holds_redemptions_manual_and_refunds,
    orders_spend_holds_and_php_bodies_are_read,
    batches_of_each_operation_run_as_v4_jobs,
    calls_that_move_points_need_the_secret,
);
