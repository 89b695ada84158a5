//! The backend conformance suite: every store behaviour, run against each backend by `conformance_tests!`.
//!
//! A backend's test file calls `store::conformance_tests!(async_fn_returning_a_fresh_store)`;
//! each behaviour becomes its own `#[tokio::test]` on a database of its own.

use crate::*;
use domain::chunk::Parsed;
use domain::{ChunkItems, customers};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

const LEASE: Duration = Duration::from_secs(30);
const RETENTION: Duration = Duration::from_secs(3600);

fn now() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

async fn tenant(store: &dyn Store, name: &str) -> TenantId {
    store
        .create_tenant(
            NewTenant {
                name: name.into(),
                apikey: format!("key-{name}"),
                secret_hash: format!("hash-{name}"),
            },
            now(),
        )
        .await
        .unwrap()
        .id
}

fn customer_items(n: u32, prefix: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"customerId":"{prefix}{i}","email":"{prefix}{i}@x.io"}}"#))
        .collect()
}

fn new_job(tenant_id: TenantId, items: &[String], idempotency: Option<Idempotency>) -> NewJob {
    NewJob {
        tenant_id,
        batch_type: BatchType::Customers,
        item_count: items.len() as u32,
        segments: segment_items(items.iter().map(String::as_str)),
        idempotency,
        queue_limit: 1_000_000,
        now: now(),
    }
}

async fn submit(store: &dyn Store, tenant_id: TenantId, items: &[String]) -> JobId {
    store
        .create_job(new_job(tenant_id, items, None))
        .await
        .unwrap()
        .job_id()
}

fn work(claim: &Claim, raw: &[(u32, String)], at: OffsetDateTime) -> ChunkWork {
    ChunkWork {
        tenant_id: claim.tenant_id,
        from: raw.first().map_or(claim.cursor, |(i, _)| *i),
        items: ChunkItems::parse(claim.batch_type, raw.iter().map(|(i, t)| (*i, t.as_str())))
            .unwrap(),
        now: at,
        retention: RETENTION,
        lease_until: add(at, LEASE),
    }
}

/// Claims the next job and applies `count` items from its cursor.
async fn claim_and_apply(store: &dyn Store, count: u32) -> (Claim, ChunkCommitted) {
    let claim = store
        .claim_job(now(), LEASE)
        .await
        .unwrap()
        .expect("a runnable job");
    let raw = store
        .load_items(claim.fence.job_id, claim.cursor, count)
        .await
        .unwrap();
    let committed = store
        .apply_chunk(claim.fence, work(&claim, &raw, now()))
        .await
        .unwrap();
    (claim, committed)
}

pub async fn tenants_are_unique_and_found_by_apikey(store: Arc<dyn Store>) {
    let id = tenant(&*store, "acme").await;
    let dup = store
        .create_tenant(
            NewTenant {
                name: "acme".into(),
                apikey: "other".into(),
                secret_hash: "h".into(),
            },
            now(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let auth = store.tenant_by_apikey("key-acme").await.unwrap().unwrap();
    assert_eq!(
        (auth.id, auth.name.as_str(), auth.secret_hash.as_str()),
        (id, "acme", "hash-acme")
    );
    assert!(auth.high_security, "highSecurity defaults to true");
    assert!(store.tenant_by_apikey("nope").await.unwrap().is_none());
    store
        .rotate_secret("acme", "new-hash".into())
        .await
        .unwrap();
    assert_eq!(
        store
            .tenant_by_apikey("key-acme")
            .await
            .unwrap()
            .unwrap()
            .secret_hash,
        "new-hash"
    );
    assert!(matches!(
        store.rotate_secret("ghost", "h".into()).await,
        Err(StoreError::NotFound)
    ));
    let names: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["acme"]);
}

pub async fn first_tenant_is_created_only_on_an_empty_database(store: Arc<dyn Store>) {
    let t = |name: &str| NewTenant {
        name: name.into(),
        apikey: format!("k-{name}"),
        secret_hash: "h".into(),
    };
    assert!(
        store
            .create_first_tenant(t("default"), now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .create_first_tenant(t("default"), now())
            .await
            .unwrap()
    );
    assert!(!store.create_first_tenant(t("second"), now()).await.unwrap());
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}

pub async fn jobs_are_stored_whole_and_items_read_back_by_index(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let items = customer_items(250, "c");
    let id = submit(&*store, t, &items).await;
    let job = store.job(t, id).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.item_count, job.processed),
        (JobState::Queued, 250, 0)
    );
    assert_eq!(
        (
            job.batch_type,
            job.started_at,
            job.finished_at,
            job.expires_at
        ),
        (BatchType::Customers, None, None, None)
    );
    let slice = store.load_items(id, 95, 110).await.unwrap();
    assert_eq!(slice.len(), 110);
    assert_eq!(slice[0], (95, items[95].clone()));
    assert_eq!(slice[109], (204, items[204].clone()));
    assert_eq!(store.load_items(id, 240, 100).await.unwrap().len(), 10);
    let (_, results) = store.job_with_results(t, id).await.unwrap().unwrap();
    assert!(results.is_empty());
}

pub async fn jobs_are_invisible_to_other_tenants(store: Arc<dyn Store>) {
    let a = tenant(&*store, "a").await;
    let b = tenant(&*store, "b").await;
    let id = submit(&*store, a, &customer_items(1, "c")).await;
    assert!(store.job(b, id).await.unwrap().is_none());
    assert!(store.job_with_results(b, id).await.unwrap().is_none());
    assert_eq!(
        store.stop_job(b, id, now(), RETENTION).await.unwrap(),
        StopOutcome::NotFound
    );
    assert!(
        store
            .list_jobs(
                b,
                &JobFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.job(a, id).await.unwrap().unwrap().state,
        JobState::Queued
    );
}

pub async fn idempotency_keys_return_the_first_job_or_conflict(store: Arc<dyn Store>) {
    let a = tenant(&*store, "a").await;
    let b = tenant(&*store, "b").await;
    let items = customer_items(3, "c");
    let key = |hash: &str| {
        Some(Idempotency {
            key: "k1".into(),
            body_hash: hash.into(),
        })
    };
    let first = store
        .create_job(new_job(a, &items, key("h1")))
        .await
        .unwrap();
    assert!(matches!(first, JobCreation::Created(_)));
    let again = store
        .create_job(new_job(a, &items, key("h1")))
        .await
        .unwrap();
    assert_eq!(again, JobCreation::Existing(first.job_id()));
    let other_body = store.create_job(new_job(a, &items, key("h2"))).await;
    assert!(matches!(other_body, Err(StoreError::IdempotencyConflict)));
    let other_tenant = store
        .create_job(new_job(b, &items, key("h1")))
        .await
        .unwrap();
    assert!(
        matches!(other_tenant, JobCreation::Created(id) if id != first.job_id()),
        "keys are per tenant"
    );
    assert_eq!(
        store
            .list_jobs(
                a,
                &JobFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
    // After the 24 h window the key is free again.
    let mut later = new_job(a, &items, key("h2"));
    later.now = now() + time::Duration::hours(25);
    assert!(
        matches!(store.create_job(later).await.unwrap(), JobCreation::Created(id) if id != first.job_id())
    );
}

pub async fn the_queue_limit_refuses_and_creates_nothing(store: Arc<dyn Store>) {
    let a = tenant(&*store, "a").await;
    let mut job = new_job(a, &customer_items(6, "c"), None);
    job.queue_limit = 10;
    store.create_job(job.clone()).await.unwrap();
    let refused = store.create_job(job.clone()).await;
    assert!(matches!(
        refused,
        Err(StoreError::QueueFull {
            unprocessed: 6,
            limit: 10
        })
    ));
    assert_eq!(
        store
            .list_jobs(
                a,
                &JobFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
    // Processed items no longer count.
    claim_and_apply(&*store, 6).await;
    store.create_job(job).await.unwrap();
}

pub async fn chunks_advance_the_cursor_and_finish_the_job(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let mut items = customer_items(5, "c");
    items[3] = r#"{"email":"no-id@x.io"}"#.into();
    let id = submit(&*store, t, &items).await;
    let (claim, first) = claim_and_apply(&*store, 2).await;
    assert_eq!(claim.fence.job_id, id);
    assert_eq!(
        first,
        ChunkCommitted {
            cursor: 2,
            finished: None
        }
    );
    let running = store.job(t, id).await.unwrap().unwrap();
    assert_eq!(
        (running.state, running.processed, running.finished_count),
        (JobState::Running, 2, 2)
    );
    assert!(running.started_at.is_some());
    let raw = store.load_items(id, 2, 10).await.unwrap();
    let at = now();
    let done = store
        .apply_chunk(claim.fence, work(&claim, &raw, at))
        .await
        .unwrap();
    assert_eq!(
        done,
        ChunkCommitted {
            cursor: 5,
            finished: Some(JobState::Completed)
        }
    );
    let (job, results) = store.job_with_results(t, id).await.unwrap().unwrap();
    assert_eq!(
        (
            job.state,
            job.processed,
            job.finished_count,
            job.error_count
        ),
        (JobState::Completed, 5, 4, 1)
    );
    assert_eq!(job.finished_at, Some(at));
    assert_eq!(job.expires_at, Some(add(at, RETENTION)));
    let successful = domain::outcome::join_fragments(results.iter().map(|r| r.successful.as_str()));
    let successful: serde_json::Value = serde_json::from_str(&successful).unwrap();
    let indexes: Vec<u64> = successful
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 1, 2, 4]);
    assert_eq!(successful[0]["message"], "Customer created successfully");
    let failed = domain::outcome::join_fragments(results.iter().map(|r| r.failed.as_str()));
    let failed: serde_json::Value = serde_json::from_str(&failed).unwrap();
    assert_eq!(failed[0]["index"], 3);
    assert_eq!(failed[0]["code"], 3000);
    assert!(
        store.load_items(id, 0, 10).await.unwrap().is_empty(),
        "items are dropped once the job ends"
    );
    assert!(store.claim_job(now(), LEASE).await.unwrap().is_none());
}

pub async fn a_job_where_every_item_failed_ends_failed(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let id = submit(
        &*store,
        t,
        &[r#"{"customerId":""}"#.to_owned(), "7".to_owned()],
    )
    .await;
    let (_, committed) = claim_and_apply(&*store, 10).await;
    assert_eq!(committed.finished, Some(JobState::Failed));
    let job = store.job(t, id).await.unwrap().unwrap();
    assert_eq!((job.finished_count, job.error_count), (0, 2));
}

pub async fn customers_written_by_chunks_are_upserted_with_stable_ids(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    submit(
        &*store,
        t,
        &[r#"{"customerId":"x","email":"1@x.io","custom":{"a":1}}"#.to_owned()],
    )
    .await;
    submit(
        &*store,
        t,
        &[r#"{"customerId":"x","mobile":"5","custom":{"b":2}}"#.to_owned()],
    )
    .await;
    claim_and_apply(&*store, 10).await;
    let first = store.customer(t, "x").await.unwrap().unwrap();
    claim_and_apply(&*store, 10).await;
    let second = store.customer(t, "x").await.unwrap().unwrap();
    assert_eq!(first.record.gameball_id, second.record.gameball_id);
    assert_eq!(
        serde_json::Value::Object(second.record.profile),
        serde_json::json!({"email": "1@x.io", "customerAttributes": {"custom": {"a": 1, "b": 2}}, "mobile": "5"})
    );
    assert!(second.updated_at >= first.updated_at);
}

pub async fn a_claim_holds_until_its_lease_lapses_and_a_stale_fence_cannot_commit(
    store: Arc<dyn Store>,
) {
    let t = tenant(&*store, "a").await;
    let id = submit(&*store, t, &customer_items(4, "c")).await;
    let start = now();
    let first = store.claim_job(start, LEASE).await.unwrap().unwrap();
    assert!(
        store.claim_job(start, LEASE).await.unwrap().is_none(),
        "the lease is held"
    );
    let raw = store.load_items(id, 0, 2).await.unwrap();
    store
        .apply_chunk(first.fence, work(&first, &raw, start))
        .await
        .unwrap();

    let lapsed = add(start, LEASE + Duration::from_secs(1));
    let second = store
        .claim_job(lapsed, LEASE)
        .await
        .unwrap()
        .expect("a lapsed lease is taken over");
    assert_eq!(second.fence.job_id, id);
    assert_ne!(second.fence.token, first.fence.token);
    assert_eq!(second.cursor, 2, "the takeover resumes at the cursor");

    let rest = store.load_items(id, 2, 2).await.unwrap();
    let stale = store
        .apply_chunk(first.fence, work(&second, &rest, lapsed))
        .await;
    assert!(matches!(stale, Err(StoreError::Fenced)));
    assert!(!store.renew_lease(first.fence, lapsed).await.unwrap());
    assert!(
        store
            .renew_lease(second.fence, add(lapsed, LEASE))
            .await
            .unwrap()
    );
    // A commit at the wrong cursor is refused too (no chunk is applied twice).
    let replay = store
        .apply_chunk(second.fence, work(&second, &raw, lapsed))
        .await;
    assert!(matches!(replay, Err(StoreError::Fenced)));
    let done = store
        .apply_chunk(second.fence, work(&second, &rest, lapsed))
        .await
        .unwrap();
    assert_eq!(done.finished, Some(JobState::Completed));
    assert_eq!(store.job(t, id).await.unwrap().unwrap().finished_count, 4);
}

pub async fn every_chunk_commit_extends_the_lease(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let id = submit(&*store, t, &customer_items(4, "c")).await;
    let start = now();
    let claim = store.claim_job(start, LEASE).await.unwrap().unwrap();
    let raw = store.load_items(id, 0, 2).await.unwrap();
    let mut chunk = work(&claim, &raw, start);
    chunk.lease_until = add(start, LEASE * 2);
    store.apply_chunk(claim.fence, chunk).await.unwrap();
    let after_first_lease = add(start, LEASE + Duration::from_secs(1));
    assert!(
        store
            .claim_job(after_first_lease, LEASE)
            .await
            .unwrap()
            .is_none()
    );
    let after_extension = add(start, LEASE * 2 + Duration::from_secs(1));
    assert!(
        store
            .claim_job(after_extension, LEASE)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn a_job_that_cannot_run_is_failed_with_its_reason(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let id = submit(&*store, t, &customer_items(3, "c")).await;
    let (claim, _) = claim_and_apply(&*store, 1).await;
    let stale = Fence {
        token: claim.fence.token + 1,
        ..claim.fence
    };
    assert!(
        !store
            .fail_job(stale, "nope", now(), RETENTION)
            .await
            .unwrap()
    );
    let at = now();
    assert!(
        store
            .fail_job(claim.fence, "stopped by an internal error", at, RETENTION)
            .await
            .unwrap()
    );
    let job = store.job(t, id).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.processed, job.finished_count),
        (JobState::Failed, 1, 1)
    );
    assert_eq!(job.error.as_deref(), Some("stopped by an internal error"));
    assert_eq!(
        (job.finished_at, job.expires_at),
        (Some(at), Some(add(at, RETENTION)))
    );
    assert!(store.load_items(id, 1, 10).await.unwrap().is_empty());
    assert!(store.claim_job(now(), LEASE).await.unwrap().is_none());
    assert!(
        !store
            .fail_job(claim.fence, "again", now(), RETENTION)
            .await
            .unwrap()
    );
}

pub async fn a_released_job_is_claimable_at_once(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    submit(&*store, t, &customer_items(2, "c")).await;
    let claim = store.claim_job(now(), LEASE).await.unwrap().unwrap();
    store.release_job(claim.fence).await.unwrap();
    let again = store
        .claim_job(now(), LEASE)
        .await
        .unwrap()
        .expect("released");
    assert_eq!(again.fence.job_id, claim.fence.job_id);
    assert!(again.fence.token > claim.fence.token);
}

pub async fn claims_take_turns_between_tenants(store: Arc<dyn Store>) {
    let a = tenant(&*store, "a").await;
    let b = tenant(&*store, "b").await;
    let a_jobs = [
        submit(&*store, a, &customer_items(1, "a")).await,
        submit(&*store, a, &customer_items(1, "a")).await,
        submit(&*store, a, &customer_items(1, "a")).await,
    ];
    let b_job = submit(&*store, b, &customer_items(1, "b")).await;
    let mut order = Vec::new();
    while let Some(claim) = store.claim_job(now(), LEASE).await.unwrap() {
        order.push(claim.fence.job_id);
    }
    assert_eq!(order, [a_jobs[0], b_job, a_jobs[1], a_jobs[2]]);
}

pub async fn stop_is_final_and_fences_the_running_worker(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let queued = submit(&*store, t, &customer_items(1, "q")).await;
    let running = submit(&*store, t, &customer_items(4, "r")).await;
    let StopOutcome::Stopped(stopped) = store.stop_job(t, queued, now(), RETENTION).await.unwrap()
    else {
        panic!("a queued job stops");
    };
    assert_eq!((stopped.state, stopped.processed), (JobState::Stopped, 0));
    assert!(stopped.finished_at.is_some() && stopped.expires_at.is_some());

    let (claim, _) = claim_and_apply(&*store, 1).await;
    assert_eq!(claim.fence.job_id, running);
    let rest = store.load_items(running, 1, 3).await.unwrap();
    assert!(matches!(
        store.stop_job(t, running, now(), RETENTION).await.unwrap(),
        StopOutcome::Stopped(_)
    ));
    let late = store
        .apply_chunk(claim.fence, work(&claim, &rest, now()))
        .await;
    assert!(
        matches!(late, Err(StoreError::Fenced)),
        "no item takes effect after the stop"
    );
    assert!(store.customer(t, "r1").await.unwrap().is_none());
    assert!(!store.renew_lease(claim.fence, now()).await.unwrap());
    let job = store.job(t, running).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.processed, job.finished_count),
        (JobState::Stopped, 1, 1)
    );
    assert!(
        matches!(
            store.stop_job(t, running, now(), RETENTION).await.unwrap(),
            StopOutcome::Stopped(_)
        ),
        "idempotent"
    );
    assert!(
        store.claim_job(now(), LEASE).await.unwrap().is_none(),
        "stopped jobs are never claimed"
    );

    let done = submit(&*store, t, &customer_items(1, "d")).await;
    claim_and_apply(&*store, 1).await;
    assert_eq!(
        store.stop_job(t, done, now(), RETENTION).await.unwrap(),
        StopOutcome::AlreadyFinished(JobState::Completed)
    );
}

pub async fn list_is_newest_first_filtered_and_keyset_paged(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(submit(&*store, t, &customer_items(1, "c")).await);
    }
    claim_and_apply(&*store, 1).await; // completes ids[0]
    let page = |state: Option<JobState>, before: Option<JobId>, limit: u32| JobFilter {
        state,
        batch_type: None,
        before,
        limit,
    };
    let all: Vec<JobId> = store
        .list_jobs(t, &page(None, None, 10))
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(all, ids.iter().rev().copied().collect::<Vec<_>>());
    let first: Vec<JobId> = store
        .list_jobs(t, &page(None, None, 2))
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(first, [ids[4], ids[3]]);
    let next: Vec<JobId> = store
        .list_jobs(t, &page(None, Some(ids[3]), 2))
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(next, [ids[2], ids[1]]);
    let completed = store
        .list_jobs(t, &page(Some(JobState::Completed), None, 10))
        .await
        .unwrap();
    assert_eq!(completed.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[0]]);
    let events = JobFilter {
        batch_type: Some(BatchType::Events),
        ..page(None, None, 10)
    };
    assert!(store.list_jobs(t, &events).await.unwrap().is_empty());
}

pub async fn purge_removes_only_expired_jobs(store: Arc<dyn Store>) {
    let t = tenant(&*store, "a").await;
    let done = submit(&*store, t, &customer_items(1, "c")).await;
    claim_and_apply(&*store, 1).await;
    let waiting = submit(&*store, t, &customer_items(1, "w")).await;
    assert_eq!(store.purge_expired(now()).await.unwrap(), 0);
    let after_retention = add(now(), RETENTION + Duration::from_secs(1));
    assert_eq!(store.purge_expired(after_retention).await.unwrap(), 1);
    assert!(store.job(t, done).await.unwrap().is_none());
    assert!(store.job(t, waiting).await.unwrap().is_some());
    assert!(
        store.customer(t, "c0").await.unwrap().is_some(),
        "effects outlive their job"
    );
}

pub async fn single_calls_apply_durably_and_customers_are_per_tenant(store: Arc<dyn Store>) {
    let a = tenant(&*store, "a").await;
    let b = tenant(&*store, "b").await;
    let upsert = |json: serde_json::Value| {
        ChunkItems::Customers(vec![Parsed {
            index: 0,
            item: customers::parse(json),
        }])
    };
    let created = store
        .apply_single(
            a,
            upsert(serde_json::json!({"customerId": "x", "email": "a@x.io"})),
            now(),
        )
        .await
        .unwrap();
    let entry = created.entry();
    assert_eq!(entry["message"], "Customer created successfully");
    let updated = store
        .apply_single(a, upsert(serde_json::json!({"customerId": "x"})), now())
        .await
        .unwrap();
    assert_eq!(updated.entry()["gameballId"], entry["gameballId"]);
    assert_eq!(updated.entry()["message"], "Customer updated successfully");
    let in_b = store
        .apply_single(b, upsert(serde_json::json!({"customerId": "x"})), now())
        .await
        .unwrap();
    assert_ne!(
        in_b.entry()["gameballId"],
        entry["gameballId"],
        "same customerId, other tenant, other customer"
    );
    let failed = store
        .apply_single(a, upsert(serde_json::json!({"customerId": 5})), now())
        .await
        .unwrap();
    assert_eq!(failed.entry()["code"], 3003);

    assert_eq!(
        store
            .customer(a, "x")
            .await
            .unwrap()
            .unwrap()
            .record
            .profile["email"],
        "a@x.io"
    );
    assert!(
        !store
            .customer(b, "x")
            .await
            .unwrap()
            .unwrap()
            .record
            .profile
            .contains_key("email")
    );
    assert!(store.delete_customer(a, "x").await.unwrap());
    assert!(!store.delete_customer(a, "x").await.unwrap());
    assert!(store.customer(a, "x").await.unwrap().is_none());
    assert!(
        store.customer(b, "x").await.unwrap().is_some(),
        "deleting in one tenant leaves the other"
    );
}

pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
}

/// Generates one `#[tokio::test]` per behaviour, each on a fresh store from `$make`:
/// an async fn returning `Option<(Arc<dyn Store>, guard)>`, where the guard (a temp
/// dir, a database to drop) lives until the test ends; `None` skips the test
/// (e.g. PostgreSQL not configured).
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make;
            tenants_are_unique_and_found_by_apikey,
            first_tenant_is_created_only_on_an_empty_database,
            jobs_are_stored_whole_and_items_read_back_by_index,
            jobs_are_invisible_to_other_tenants,
            idempotency_keys_return_the_first_job_or_conflict,
            the_queue_limit_refuses_and_creates_nothing,
            chunks_advance_the_cursor_and_finish_the_job,
            a_job_where_every_item_failed_ends_failed,
            customers_written_by_chunks_are_upserted_with_stable_ids,
            a_claim_holds_until_its_lease_lapses_and_a_stale_fence_cannot_commit,
            every_chunk_commit_extends_the_lease,
            a_job_that_cannot_run_is_failed_with_its_reason,
            a_released_job_is_claimable_at_once,
            claims_take_turns_between_tenants,
            stop_is_final_and_fences_the_running_worker,
            list_is_newest_first_filtered_and_keyset_paged,
            purge_removes_only_expired_jobs,
            single_calls_apply_durably_and_customers_are_per_tenant,
            ping_answers,
        );
    };
    (@each $make:path; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                match $make().await {
                    Some((store, guard)) => {
                        $crate::conformance::$name(store).await;
                        drop(guard);
                    }
                    None => eprintln!("skipped {}: backend not configured", stringify!($name)),
                }
            }
        )+
    };
}
