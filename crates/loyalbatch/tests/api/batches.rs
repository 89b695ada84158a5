//! API tests: batch creation (SPEC §2) — refusals that create nothing, item-level failures, idempotency, the seed example.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wire::JobState;

fn post_raw(s: &TestServer, body: &str) -> reqwest::RequestBuilder {
    s.as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .header("content-type", "application/json")
        .body(body.to_owned())
}

async fn malformed_missing_non_array_or_empty_body_is_3016_and_creates_nothing() {
    let s = TestServer::paused().await;
    for (body, names) in [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "body"),
        ("{}", "body: required"),
        (r#"{"body": null}"#, "body: required"),
        (r#"{"body": {"customerId": "1"}}"#, "body: must be an array"),
        (r#"{"body": "x"}"#, "body: must be an array"),
        (r#"{"body": []}"#, "body: must not be empty"),
    ] {
        let message = expect_error(
            post_raw(&s, body).send().await.unwrap(),
            StatusCode::BAD_REQUEST,
            3016,
        )
        .await;
        assert!(message.contains(names), "{body}: {message}");
    }
    assert_eq!(s.job_count(&s.a).await, 0);
}

async fn more_than_the_item_limit_is_3011() {
    let s = TestServer::paused().await;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .json(&json!({"body": customers(1001, "c")}))
        .send()
        .await
        .unwrap();
    let message = expect_error(resp, StatusCode::UNPROCESSABLE_ENTITY, 3011).await;
    assert!(message.starts_with("body: 1001 objects"), "{message}");
    let exactly = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .json(&json!({"body": customers(1000, "c")}))
        .send()
        .await
        .unwrap();
    assert_eq!(exactly.status(), StatusCode::OK);
    assert_eq!(s.job_count(&s.a).await, 1);
}

async fn the_item_limit_is_configurable() {
    let s = TestServer::start(Options {
        app: app::Settings {
            max_batch_items: 2,
            ..app::Settings::default()
        },
        ..Options::default()
    })
    .await;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batch/events"))
        .json(&json!({"body": [{}, {}, {}]}))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNPROCESSABLE_ENTITY, 3011).await;
}

async fn a_body_over_the_byte_limit_is_413_with_3011() {
    let s = TestServer::start(Options {
        http: server::HttpSettings {
            max_body_bytes: 2048,
            ..server::HttpSettings::default()
        },
        ..Options::default()
    })
    .await;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .json(&json!({"body": customers(100, "c")}))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE, 3011).await;
    assert_eq!(s.job_count(&s.a).await, 0);
}

async fn a_content_type_other_than_json_is_415_and_a_missing_one_is_tolerated() {
    let s = TestServer::paused().await;
    let body = r#"{"body": [{"customerId": "1"}]}"#;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, 3013).await;
    assert_eq!(s.job_count(&s.a).await, 0);
    let bare = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    let charset = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(charset.status(), StatusCode::OK);
}

async fn unknown_batch_types_are_404() {
    let s = TestServer::paused().await;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batch/widgets"))
        .json(&json!({"body": [{}]}))
        .send()
        .await
        .unwrap();
    let message = expect_error(resp, StatusCode::NOT_FOUND, 4004).await;
    assert!(message.contains("widgets"));
}

async fn a_full_tenant_queue_is_429_with_retry_after() {
    let s = TestServer::start(Options {
        app: app::Settings {
            queue_limit: 3,
            ..app::Settings::default()
        },
        ..Options::default()
    })
    .await;
    s.submit("customers", customers(2, "c")).await;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batch/customers"))
        .json(&json!({"body": customers(2, "d")}))
        .send()
        .await
        .unwrap();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    expect_error(resp, StatusCode::TOO_MANY_REQUESTS, 3011).await;
    assert!(retry_after.is_some_and(|v| v.parse::<u64>().unwrap() > 0));
    assert_eq!(s.job_count(&s.a).await, 1);
    // The queue is per tenant.
    let other = s
        .as_b(Method::POST, &format!("{BASE}/batch/customers"))
        .json(&json!({"body": customers(2, "d")}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    s.drain().await;
    s.submit("customers", customers(2, "e")).await;
}

async fn the_seed_example_completes_with_both_customers() {
    let s = TestServer::paused().await;
    let seed = json!([
        {"customerId": "12345", "email": "john.doe@example.com", "name": "John Doe", "gender": "M",
         "dateOfBirth": "1990-01-01", "joinDate": "2022-01-01", "tags": ["vip", "newsletter_subscriber"],
         "custom": {"favorite_color": "blue", "loyalty_points": 1500}},
        {"customerId": "67890", "email": "jane.smith@example.com", "name": "Jane Smith", "gender": "F",
         "dateOfBirth": "1985-05-15", "joinDate": "2023-03-10", "tags": ["premium_member"],
         "custom": {"favorite_color": "green", "loyalty_points": 2000}}
    ]);
    let job = s.submit("customers", seed).await;
    let queued = s.status(job).await;
    assert_eq!(
        strip_times(queued.clone()),
        json!({"jobId": job, "operation": "Customer Creation Batch Job", "type": "customers",
               "status": "queued", "errorCount": 0, "totalCount": 0, "finishedCount": 0,
               "itemCount": 2, "unprocessedCount": 2, "response": null})
    );
    assert_eq!(queued["startedAt"], Value::Null);
    assert_eq!(queued["finishedAt"], Value::Null);
    assert_eq!(queued["expiresAt"], Value::Null);
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(
        strip_times(done.clone()),
        json!({"jobId": job, "operation": "Customer Creation Batch Job", "type": "customers",
               "status": "completed", "errorCount": 0, "totalCount": 2, "finishedCount": 2,
               "itemCount": 2, "unprocessedCount": 0,
               "response": {
                   "successful": [
                       {"index": 0, "customerId": "12345", "gameballId": done["response"]["successful"][0]["gameballId"], "message": "Customer created successfully"},
                       {"index": 1, "customerId": "67890", "gameballId": done["response"]["successful"][1]["gameballId"], "message": "Customer created successfully"}
                   ],
                   "failed": []}})
    );
    for field in ["createdAt", "startedAt", "finishedAt", "expiresAt"] {
        let t = done[field].as_str().unwrap();
        assert!(t.ends_with('Z'), "{field} is RFC 3339 UTC: {t}");
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap();
    }
    let (_, profile) = read(
        s.as_a(Method::GET, &format!("{BASE}/customers/12345"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(profile["email"], "john.doe@example.com");
    assert_eq!(profile["customerAttributes"]["displayName"], "John Doe");
    assert_eq!(
        profile["customerAttributes"]["tags"],
        json!(["vip", "newsletter_subscriber"])
    );
    assert_eq!(
        profile["customerAttributes"]["custom"]["loyalty_points"],
        1500
    );
}

async fn a_seed_shaped_job_with_one_bad_item_has_the_seeds_completed_counts() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", json!([
        {"customerId": "12345", "email": "john.doe@example.com", "name": "John Doe", "dateOfBirth": "1990-01-01"},
        {"customerId": "67890", "email": "jane.smith@example.com", "name": "Jane Smith", "dateOfBirth": "15/05/1985"}
    ])).await;
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["errorCount"].as_u64(),
            done["totalCount"].as_u64(),
            done["finishedCount"].as_u64()
        ),
        (Some("completed"), Some(1), Some(2), Some(1))
    );
    assert_eq!(done["response"]["successful"][0]["customerId"], "12345");
    assert_eq!(
        done["response"]["failed"],
        json!([{"index": 1, "customerId": "67890", "code": 3003,
                "error": "dateOfBirth: not a date (YYYY-MM-DD)", "message": "dateOfBirth: not a date (YYYY-MM-DD)"}])
    );
}

async fn bad_items_fail_alone_with_their_codes_and_the_rest_runs() {
    let s = TestServer::paused().await;
    let job = s
        .submit(
            "customers",
            json!([
                {"customerId": "ok-1"},
                {"email": "missing-id@x.io"},
                "not an object",
                {"customerId": "bad-channel", "customerAttributes": {"channel": "fax"}},
                {"customerId": "x".repeat(201)},
                {"customerId": "ok-2", "unknownField": {"ignored": true}}
            ]),
        )
        .await;
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(done["status"], "completed");
    let ok: Vec<u64> = done["response"]["successful"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(ok, [0, 5]);
    let failed: Vec<(u64, u64)> = done["response"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["code"].as_u64().unwrap()))
        .collect();
    assert_eq!(failed, [(1, 3000), (2, 3003), (3, 3003), (4, 3011)]);
    assert_eq!(done["response"]["failed"][0]["customerId"], Value::Null);
    assert_eq!(
        done["response"]["failed"][0]["error"],
        "customerId: required"
    );
    assert_eq!(done["response"]["failed"][2]["customerId"], "bad-channel");
}

async fn a_job_whose_every_item_failed_is_failed() {
    let s = TestServer::paused().await;
    let job = s
        .submit(
            "events",
            json!([{"customerId": "c"}, {"events": {"a": {}}}]),
        )
        .await;
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(
        (done["status"].as_str(), done["errorCount"].as_u64()),
        (Some("failed"), Some(2))
    );
}

async fn event_batches_append_every_event_and_create_unknown_customers() {
    let s = TestServer::paused().await;
    let job = s.submit("events", json!([
        {"customerId": "e1", "events": {"login": {"device": "ios"}, "review": {"stars": 5}}},
        {"customerId": "e2", "events": {"login": {}}},
        {"customerId": "e1", "events": {}}
    ])).await;
    s.drain().await;
    let done = s.status(job).await;
    assert_eq!(done["operation"], "Event Batch Job");
    assert_eq!(
        done["response"]["successful"][0],
        json!({"index": 0, "customerId": "e1", "events": ["login", "review"], "rewardedPoints": 0})
    );
    assert_eq!(done["response"]["failed"][0]["index"], 2);
    assert_eq!(s.count_rows("SELECT count(*) FROM events").await, 3);
    let (status, _) = read(
        s.as_a(Method::GET, &format!("{BASE}/customers/e2"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn idempotency_key_returns_the_first_job_or_409_for_another_body() {
    let s = TestServer::paused().await;
    let send = |body: Value, key: &str| {
        s.as_a(Method::POST, &format!("{BASE}/batch/customers"))
            .header("Idempotency-Key", key)
            .json(&json!({"body": body}))
    };
    let (status, first) = read(send(customers(3, "c"), "import-1").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, again) = read(send(customers(3, "c"), "import-1").send().await.unwrap()).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert_eq!(s.job_count(&s.a).await, 1);
    let conflict = send(customers(4, "c"), "import-1").send().await.unwrap();
    expect_error(conflict, StatusCode::CONFLICT, 4009).await;
    assert_eq!(s.job_count(&s.a).await, 1);
    let too_long = send(customers(1, "c"), &"k".repeat(256))
        .send()
        .await
        .unwrap();
    let message = expect_error(too_long, StatusCode::UNPROCESSABLE_ENTITY, 3003).await;
    assert!(message.starts_with("Idempotency-Key"));
    // Keys are per tenant: B's same key makes B's own job.
    let resp = s
        .as_b(Method::POST, &format!("{BASE}/batch/customers"))
        .header("Idempotency-Key", "import-1")
        .json(&json!({"body": customers(3, "c")}))
        .send()
        .await
        .unwrap();
    let (_, b_job) = read(resp).await;
    assert_ne!(b_job["jobId"], first["jobId"]);
    // A repeat after the job ran still returns it.
    s.drain().await;
    let (_, after) = read(send(customers(3, "c"), "import-1").send().await.unwrap()).await;
    assert_eq!(after, first);
    assert_eq!(
        s.typed_status(first["jobId"].as_i64().unwrap())
            .await
            .status,
        JobState::Completed
    );
}

async fn every_base_path_serves_the_api() {
    let s = TestServer::paused().await;
    for base in server::BASE_PATHS {
        let resp = s
            .as_a(Method::POST, &format!("{base}/batch/customers"))
            .json(&json!({"body": customers(1, "c")}))
            .send()
            .await
            .unwrap();
        let (status, json) = read(resp).await;
        assert_eq!(status, StatusCode::OK, "{base}");
        let job = json["jobId"].as_i64().unwrap();
        let (status, _) = read(
            s.as_a(Method::GET, &format!("{base}/batch/{job}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{base}");
    }
}

#[tokio::test]
async fn the_200_is_sent_after_the_job_is_durable() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(250, "c")).await;
    // Read through a connection of our own, not the server's: the job and all its
    // items are committed to the file when the 200 arrives.
    let conn = rusqlite::Connection::open(s.db.sqlite_path().unwrap()).unwrap();
    let (status, items): (String, i64) = conn
        .query_row(
            "SELECT status, item_count FROM jobs WHERE id = ?1",
            [job],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), items), ("queued", 250));
    let stored: i64 = conn
        .query_row(
            "SELECT sum(json_array_length(items)) FROM job_items WHERE job_id = ?1",
            [job],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 250);
}

fn strip_times(mut v: Value) -> Value {
    for k in ["createdAt", "startedAt", "finishedAt", "expiresAt"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

crate::on_both_backends!(
    malformed_missing_non_array_or_empty_body_is_3016_and_creates_nothing,
    more_than_the_item_limit_is_3011,
    the_item_limit_is_configurable,
    a_body_over_the_byte_limit_is_413_with_3011,
    a_content_type_other_than_json_is_415_and_a_missing_one_is_tolerated,
    unknown_batch_types_are_404,
    a_full_tenant_queue_is_429_with_retry_after,
    the_seed_example_completes_with_both_customers,
    a_seed_shaped_job_with_one_bad_item_has_the_seeds_completed_counts,
    bad_items_fail_alone_with_their_codes_and_the_rest_runs,
    a_job_whose_every_item_failed_is_failed,
    event_batches_append_every_event_and_create_unknown_customers,
    idempotency_key_returns_the_first_job_or_409_for_another_body,
    every_base_path_serves_the_api,
);
