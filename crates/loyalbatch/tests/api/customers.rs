//! API tests: single calls on customers and events (SPEC §4, §5.1, §5.2).

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn upsert(s: &TestServer, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    read(
        s.as_a(Method::POST, &format!("{BASE}/customers"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn upsert_creates_then_merges_and_keeps_the_gameball_id() {
    let s = TestServer::paused().await;
    let (status, created) = upsert(
        &s,
        json!({"customerId": "c1", "email": "a@x.io", "mobile": "100",
        "customerAttributes": {"city": "Cairo", "custom": {"tier": "gold", "visits": 3}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let id = created["gameballId"].as_i64().unwrap();
    let (_, again) = upsert(&s, json!({"customerId": "c1", "email": "b@x.io", "customerAttributes": {"custom": {"visits": 4}}})).await;
    assert_eq!(again, json!({"gameballId": id}));
    let (status, profile) = read(
        s.as_a(Method::GET, &format!("{BASE}/customers/c1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["customerId"], "c1");
    assert_eq!(profile["gameballId"], id);
    assert_eq!(profile["email"], "b@x.io");
    assert_eq!(profile["mobile"], "100", "absent fields keep their value");
    assert_eq!(
        profile["customerAttributes"],
        json!({"city": "Cairo", "custom": {"tier": "gold", "visits": 4}})
    );
    assert!(profile["createdAt"].is_string() && profile["updatedAt"].is_string());
}

async fn a_batch_and_a_single_call_see_the_same_customer() {
    let s = TestServer::paused().await;
    let (_, created) = upsert(&s, json!({"customerId": "shared"})).await;
    let job = s
        .submit(
            "customers",
            json!([{"customerId": "shared", "email": "s@x.io"}]),
        )
        .await;
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(
        done["response"]["successful"][0]["gameballId"],
        created["gameballId"]
    );
    assert_eq!(
        done["response"]["successful"][0]["message"],
        "Customer updated successfully"
    );
}

async fn invalid_upserts_are_refused_with_the_field_and_code() {
    let s = TestServer::paused().await;
    let cases = [
        (
            json!({"email": "a@x.io"}),
            StatusCode::BAD_REQUEST,
            3000,
            "customerId: required",
        ),
        (
            json!({"customerId": 12}),
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
            "customerId: must be a string",
        ),
        (
            json!({"customerId": "c", "customerAttributes": {"dateOfBirth": "1990-02-30"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
            "customerAttributes.dateOfBirth: not a date (YYYY-MM-DD)",
        ),
        (
            json!({"customerId": "c", "customerAttributes": {"totalOrders": -1}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
            "customerAttributes.totalOrders: must be a whole number from 0 to 1000000000000",
        ),
        (
            json!({"customerId": "c".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            3011,
            "customerId: longer than 200 characters",
        ),
    ];
    for (body, status, code, message) in cases {
        let got = s
            .refused(Method::POST, "/customers", Some(body), status, code)
            .await;
        assert_eq!(got, message);
    }
    let malformed = s
        .as_a(Method::POST, &format!("{BASE}/customers"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::BAD_REQUEST, 3016).await;
    let not_json = s
        .as_a(Method::POST, &format!("{BASE}/customers"))
        .header("content-type", "text/csv")
        .body("a,b")
        .send()
        .await
        .unwrap();
    expect_error(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, 3013).await;
    assert_eq!(
        s.count_rows("SELECT count(*) FROM customers").await,
        0,
        "a refused request creates nothing"
    );
}

async fn delete_removes_the_profile_and_its_events() {
    let s = TestServer::paused().await;
    let (status, _) = read(
        s.as_a(Method::POST, &format!("{BASE}/events"))
            .json(&json!({"customerId": "gone", "events": {"login": {}}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    upsert(&s, json!({"customerId": "kept"})).await;
    let (status, body) = read(
        s.as_a(Method::DELETE, &format!("{BASE}/customers/gone"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["customerId"], "gone");
    s.refused(
        Method::GET,
        "/customers/gone",
        None,
        StatusCode::NOT_FOUND,
        7000,
    )
    .await;
    s.refused(
        Method::DELETE,
        "/customers/gone",
        None,
        StatusCode::NOT_FOUND,
        7000,
    )
    .await;
    assert_eq!(s.count_rows("SELECT count(*) FROM events").await, 0);
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 1);
}

async fn delete_needs_the_secret_even_without_high_security() {
    let s = TestServer::paused().await;
    s.db.execute("UPDATE tenants SET high_security = FALSE")
        .await;
    upsert(&s, json!({"customerId": "c"})).await;
    let resp = s
        .request(Method::DELETE, &format!("{BASE}/customers/c"))
        .header("apikey", &s.a.apikey)
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, 1001).await;
}

async fn events_are_recorded_and_create_unknown_customers() {
    let s = TestServer::paused().await;
    let (status, body) = read(s.as_a(Method::POST, &format!("{BASE}/events"))
        .json(&json!({"customerId": "1848877205", "events": {"write_review": {"product_id": "1653503260", "review": "5 Stars Product"}}}))
        .send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"success": true, "message": "Events processed"})
        )
    );
    let (status, profile) = read(
        s.as_a(Method::GET, &format!("{BASE}/customers/1848877205"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(profile["gameballId"].is_i64());
    let stored =
        s.db.query_text("SELECT metadata FROM events WHERE name = 'write_review'")
            .await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap()["review"],
        "5 Stars Product"
    );
}

async fn invalid_events_are_refused_with_the_field_and_code() {
    let s = TestServer::paused().await;
    for (body, status, code, message) in [
        (
            json!({"customerId": "c"}),
            StatusCode::BAD_REQUEST,
            3000,
            "events: required",
        ),
        (
            json!({"customerId": "c", "events": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
            "events: must name at least one event",
        ),
        (
            json!({"events": {"a": {}}}),
            StatusCode::BAD_REQUEST,
            3000,
            "customerId: required",
        ),
        (
            json!({"customerId": "c", "events": {"a": {"x": "y".repeat(17_000)}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            3011,
            "events: metadata larger than 16384 bytes",
        ),
    ] {
        let got = s
            .refused(Method::POST, "/events", Some(body), status, code)
            .await;
        assert_eq!(got, message);
    }
    assert_eq!(s.count_rows("SELECT count(*) FROM events").await, 0);
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 0);
}

async fn tags_are_attached_and_removed_on_existing_customers() {
    let s = TestServer::running().await;
    let (status, _) = s
        .post("/customers", json!({"customerId": "c1", "customerAttributes": {"tags": ["vip"], "displayName": "C"}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, done) = s
        .post("/customers/c1/tags", json!({"tags": ["gold", "vip"]}))
        .await;
    assert_eq!(
        (status, done["success"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{done}"
    );
    let (status, _) = s
        .post("/customers/c1/tags", json!({"tags": "new, gold"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let tags = |v: &Value| v["customerAttributes"]["tags"].clone();
    let (_, c) = s.call(Method::GET, "/customers/c1", None).await;
    assert_eq!(tags(&c), json!(["vip", "gold", "new"]));
    assert_eq!(c["customerAttributes"]["displayName"], "C");
    let (status, _) = s.call(Method::DELETE, "/customers/c1/tags/vip", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::DELETE,
            "/customers/c1/tags",
            Some(json!({"tags": ["new", "absent"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, c) = s.call(Method::GET, "/customers/c1", None).await;
    assert_eq!(tags(&c), json!(["gold"]));
    // Tags never create a customer, and a bad body names the field.
    s.refused(
        Method::POST,
        "/customers/nobody/tags",
        Some(json!({"tags": ["x"]})),
        StatusCode::NOT_FOUND,
        7000,
    )
    .await;
    let (status, _) = s.call(Method::GET, "/customers/nobody", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let m = s
        .refused(
            Method::POST,
            "/customers/c1/tags",
            Some(json!({"tags": [7]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            3003,
        )
        .await;
    assert!(m.starts_with("tags[0]"), "{m}");
    s.refused(
        Method::POST,
        "/customers/c1/tags",
        Some(json!({})),
        StatusCode::BAD_REQUEST,
        3000,
    )
    .await;
}

/// `custom` cannot grow a profile to megabytes (issue 21): one call's body is
/// held to a batch item's 64 KiB (v4 and v3), and a profile's merged `custom`
/// to 64 KiB whatever the number of calls — single or batch.
async fn custom_attributes_are_bounded_per_call_and_per_profile() {
    let s = TestServer::paused().await;
    let big = |key: &str, kib: usize| json!({key: "x".repeat(kib * 1024)});
    let refused = s
        .refused(
            Method::POST,
            "/customers",
            Some(json!({"customerId": "c1", "customerAttributes": {"custom": big("a", 70)}})),
            StatusCode::UNPROCESSABLE_ENTITY,
            3011,
        )
        .await;
    assert!(
        refused.starts_with("body: larger than 65536 bytes"),
        "{refused}"
    );
    let v3 = s
        .request(Method::POST, "/api/v3.0/integrations/player")
        .header("apikey", &s.a.apikey)
        .header("secretkey", &s.a.secretkey)
        .json(&json!({"playerUniqueId": "c1", "playerAttributes": {"custom": big("a", 70)}}))
        .send()
        .await
        .unwrap();
    expect_error(v3, StatusCode::UNPROCESSABLE_ENTITY, 3011).await;
    // 40 KiB twice under two keys: the second call would merge past 64 KiB.
    for (key, code) in [("a", 200), ("b", 422)] {
        let (status, body) = upsert(
            &s,
            json!({"customerId": "c1", "customerAttributes": {"custom": big(key, 40)}}),
        )
        .await;
        assert_eq!(status.as_u16(), code, "{body}");
        if code == 422 {
            assert_eq!(body["code"], 3011);
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("customerAttributes.custom:"),
                "{body}"
            );
        }
    }
    // The refused call changed nothing; a batch is held to the same bound.
    let (_, profile) = s.call(Method::GET, "/customers/c1", None).await;
    assert!(
        profile["customerAttributes"]["custom"].get("b").is_none(),
        "{profile}"
    );
    let job = s
        .submit(
            "customers",
            json!([{"customerId": "c1", "customerAttributes": {"custom": big("c", 40)}}]),
        )
        .await;
    s.drain().await;
    let status = s.status(job).await;
    assert_eq!(status["response"]["failed"][0]["code"], 3011, "{status}");
}

crate::on_both_backends!(
    custom_attributes_are_bounded_per_call_and_per_profile,
    tags_are_attached_and_removed_on_existing_customers,
    upsert_creates_then_merges_and_keeps_the_gameball_id,
    a_batch_and_a_single_call_see_the_same_customer,
    invalid_upserts_are_refused_with_the_field_and_code,
    delete_removes_the_profile_and_its_events,
    delete_needs_the_secret_even_without_high_security,
    events_are_recorded_and_create_unknown_customers,
    invalid_events_are_refused_with_the_field_and_code,
);
