//! API tests: job status, stop and list (SPEC §3.1–§3.3), tenant isolation on every job and customer route.

use crate::common::*;
use engine::EngineConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use store::{ChunkWork, Store};
use time::OffsetDateTime;

/// Claims the queued job and applies `count` of its items, as a worker would.
async fn process_some(store: &dyn Store, count: u32) -> store::Claim {
    let claim = store
        .claim_job(OffsetDateTime::now_utc(), Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let raw = store
        .load_items(claim.fence.job_id, claim.cursor, count)
        .await
        .unwrap();
    let items =
        domain::ChunkItems::parse(claim.batch_type, raw.iter().map(|(i, t)| (*i, t.as_str())));
    let work = ChunkWork {
        tenant_id: claim.tenant_id,
        from: claim.cursor,
        items,
        now: OffsetDateTime::now_utc(),
        retention: Duration::from_secs(3600),
        lease_until: OffsetDateTime::now_utc() + Duration::from_secs(30),
    };
    store.apply_chunk(claim.fence, work).await.unwrap();
    claim
}

async fn a_running_job_shows_its_partial_results_and_the_alias_agrees() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(5, "c")).await;
    process_some(&*s.store, 2).await;
    let running = s.status(job).await;
    assert_eq!(running["status"], "running");
    assert_eq!(
        (
            running["totalCount"].as_u64(),
            running["finishedCount"].as_u64(),
            running["itemCount"].as_u64(),
            running["unprocessedCount"].as_u64()
        ),
        (Some(2), Some(2), Some(5), Some(3))
    );
    assert!(running["startedAt"].is_string());
    assert_eq!(running["finishedAt"], Value::Null);
    assert_eq!(
        running["response"]["successful"].as_array().unwrap().len(),
        2
    );
    assert_eq!(running["response"]["failed"], json!([]));
    let (status, alias) = read(
        s.as_a(Method::GET, &format!("{BASE}/batches/{job}/status"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, alias), (StatusCode::OK, running));
}

async fn unknown_and_non_numeric_job_ids_are_4004() {
    let s = TestServer::paused().await;
    for path in [
        "/batch/999",
        "/batch/abc",
        "/batch/-1",
        "/batches/999/status",
        "/batches/x/stop",
    ] {
        let method = if path.ends_with("stop") {
            Method::POST
        } else {
            Method::GET
        };
        expect_error(
            s.as_a(method, &format!("{BASE}{path}"))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
            4004,
        )
        .await;
    }
    s.refused(
        Method::DELETE,
        "/batch/999",
        None,
        StatusCode::NOT_FOUND,
        4004,
    )
    .await;
}

async fn stopping_a_queued_job_stops_it_and_stopping_again_is_200() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(3, "c")).await;
    let (status, body) = read(
        s.as_a(Method::DELETE, &format!("{BASE}/batch/{job}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"jobId": job, "status": "stopped", "message": "Job stopped successfully"})
    );
    let (status, again) = read(
        s.as_a(Method::POST, &format!("{BASE}/batches/{job}/stop"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, again), (StatusCode::OK, body));
    s.drain().await;
    let stopped = s.status(job).await;
    assert_eq!(
        (stopped["status"].as_str(), stopped["totalCount"].as_u64()),
        (Some("stopped"), Some(0))
    );
    assert_eq!(stopped["response"], Value::Null);
    assert!(stopped["finishedAt"].is_string() && stopped["expiresAt"].is_string());
    assert_eq!(
        s.count_rows("SELECT count(*) FROM customers").await,
        0,
        "nothing of a stopped job applies"
    );
}

async fn stopping_a_finished_job_is_409() {
    let s = TestServer::paused().await;
    let completed = s.submit("customers", customers(1, "c")).await;
    let failed = s.submit("customers", json!([{"customerId": ""}])).await;
    s.drain().await;
    assert_eq!(s.status(failed).await["status"], "failed");
    for job in [completed, failed] {
        let message = s
            .refused(
                Method::DELETE,
                &format!("/batch/{job}"),
                None,
                StatusCode::CONFLICT,
                4009,
            )
            .await;
        assert!(message.contains("cannot be stopped"));
        s.refused(
            Method::POST,
            &format!("/batches/{job}/stop"),
            None,
            StatusCode::CONFLICT,
            4009,
        )
        .await;
    }
}

async fn after_a_stop_of_a_running_job_no_further_item_applies() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(10, "c")).await;
    let claim = process_some(&*s.store, 4).await;
    let resp = s
        .as_a(Method::POST, &format!("{BASE}/batches/{job}/stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // The worker that held the job tries to commit its next chunk: refused.
    let raw = s.store.load_items(job, 4, 6).await.unwrap();
    assert!(raw.is_empty(), "a stopped job's items are dropped");
    let next =
        domain::ChunkItems::parse(wire::BatchType::Customers, [(4, r#"{"customerId":"c4"}"#)]);
    let late = s
        .store
        .apply_chunk(
            claim.fence,
            ChunkWork {
                tenant_id: claim.tenant_id,
                from: 4,
                items: next,
                now: OffsetDateTime::now_utc(),
                retention: Duration::from_secs(60),
                lease_until: OffsetDateTime::now_utc(),
            },
        )
        .await;
    assert!(matches!(late, Err(store::StoreError::Fenced)));
    s.drain().await;
    let stopped = s.status(job).await;
    assert_eq!(
        (stopped["status"].as_str(), stopped["totalCount"].as_u64()),
        (Some("stopped"), Some(4))
    );
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 4);
}

async fn a_stop_racing_live_workers_leaves_exactly_what_the_status_reports() {
    let mut s = TestServer::start(Options {
        workers_running: true,
        engine: EngineConfig {
            chunk_size: 1,
            poll_interval: Duration::from_millis(5),
            ..EngineConfig::default()
        },
        ..Options::default()
    })
    .await;
    let job = s
        .submit(
            "events",
            Value::Array(
                (0..1000)
                    .map(|i| json!({"customerId": format!("c{i}"), "events": {"e": {}}}))
                    .collect(),
            ),
        )
        .await;
    s.wait_until(job, |st| {
        st["status"] == "running" && st["totalCount"].as_u64() >= Some(10)
    })
    .await;
    let resp = s
        .as_a(Method::DELETE, &format!("{BASE}/batch/{job}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let at_stop = s.status(job).await;
    // Let the workers finish whatever they were doing, then look at the database.
    s.shut_down().await;
    let processed = at_stop["totalCount"].as_i64().unwrap();
    assert!(processed < 1000, "the stop came before the end");
    assert_eq!(
        s.count_rows("SELECT count(*) FROM events").await,
        processed,
        "no item applied after the 200"
    );
    assert_eq!(
        s.count_rows(&format!(
            "SELECT CAST(cursor AS BIGINT) FROM jobs WHERE id = {job}"
        ))
        .await,
        processed
    );
}

async fn list_is_newest_first_with_filters_and_keyset_pages() {
    let s = TestServer::paused().await;
    let mut jobs = Vec::new();
    for i in 0..5 {
        jobs.push(
            s.submit(
                if i % 2 == 0 { "customers" } else { "events" },
                customers(1, "c"),
            )
            .await,
        );
    }
    let (status, page1) = read(
        s.as_a(Method::GET, &format!("{BASE}/batch?limit=2"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ids = |v: &Value| {
        v["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["jobId"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&page1), [jobs[4], jobs[3]]);
    assert_eq!(page1["next"], jobs[3]);
    assert!(
        page1["jobs"][0].get("response").is_none(),
        "list entries carry no response"
    );
    assert_eq!(page1["jobs"][0]["status"], "queued");
    let (_, page2) = read(
        s.as_a(
            Method::GET,
            &format!("{BASE}/batch?limit=2&after={}", jobs[3]),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(ids(&page2), [jobs[2], jobs[1]]);
    let (_, page3) = read(
        s.as_a(
            Method::GET,
            &format!("{BASE}/batch?limit=2&after={}", jobs[1]),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (ids(&page3), page3["next"].clone()),
        (vec![jobs[0]], Value::Null)
    );
    let (_, events) = read(
        s.as_a(Method::GET, &format!("{BASE}/batch?type=events"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&events), [jobs[3], jobs[1]]);
    s.drain().await;
    s.submit("customers", customers(1, "d")).await;
    let (_, queued) = read(
        s.as_a(Method::GET, &format!("{BASE}/batch?status=queued"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&queued).len(), 1);
    let (_, completed) = read(
        s.as_a(
            Method::GET,
            &format!("{BASE}/batch?status=completed&type=customers"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(ids(&completed), [jobs[4], jobs[2], jobs[0]]);
}

async fn list_parameters_are_validated() {
    let s = TestServer::paused().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=x", "limit"),
        ("status=done", "status"),
        ("type=widgets", "type"),
        ("after=x", "after"),
    ] {
        let message = s
            .refused(
                Method::GET,
                &format!("/batch?{query}"),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                3003,
            )
            .await;
        assert!(message.starts_with(field), "{query}: {message}");
    }
    let (status, _) = read(
        s.as_a(Method::GET, &format!("{BASE}/batch?limit=200"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn another_tenants_jobs_and_customers_are_404_on_every_route() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(1, "c")).await;
    s.drain().await;
    let job2 = s.submit("customers", customers(1, "q")).await;
    for (method, path) in [
        (Method::GET, format!("{BASE}/batch/{job}")),
        (Method::GET, format!("{BASE}/batches/{job}/status")),
        (Method::DELETE, format!("{BASE}/batch/{job2}")),
        (Method::POST, format!("{BASE}/batches/{job2}/stop")),
    ] {
        expect_error(
            s.as_b(method, &path).send().await.unwrap(),
            StatusCode::NOT_FOUND,
            4004,
        )
        .await;
    }
    assert_eq!(s.job_count(&s.b).await, 0);
    for method in [Method::GET, Method::DELETE] {
        expect_error(
            s.as_b(method, &format!("{BASE}/customers/c0"))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
            7000,
        )
        .await;
    }
    // Untouched for their owner.
    assert_eq!(s.status(job2).await["status"], "queued");
    let (status, _) = read(
        s.as_a(Method::GET, &format!("{BASE}/customers/c0"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

crate::on_both_backends!(
    a_running_job_shows_its_partial_results_and_the_alias_agrees,
    unknown_and_non_numeric_job_ids_are_4004,
    stopping_a_queued_job_stops_it_and_stopping_again_is_200,
    stopping_a_finished_job_is_409,
    after_a_stop_of_a_running_job_no_further_item_applies,
    a_stop_racing_live_workers_leaves_exactly_what_the_status_reports,
    list_is_newest_first_with_filters_and_keyset_pages,
    list_parameters_are_validated,
    another_tenants_jobs_and_customers_are_404_on_every_route,
);
