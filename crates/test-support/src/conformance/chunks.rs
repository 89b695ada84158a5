//! Conformance: chunk commits, their effects and results, single calls.

use super::*;
use std::sync::Arc;

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
            finished: None,
            failures: vec![],
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
            finished: Some(JobState::Completed),
            failures: vec![(ErrorCode::MissingField, 1)],
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
    assert_eq!(
        store.load_items(id, 0, 10).await.unwrap().len(),
        5,
        "a job with failures keeps its items (for a retry of them) until it is purged"
    );
    assert!(store.claim_job(now(), LEASE).await.unwrap().is_none());
    // A job without failures drops them as it ends.
    let clean = submit(&*store, t, &customer_items(2, "ok")).await;
    claim_and_apply(&*store, 10).await;
    assert!(store.load_items(clean, 0, 10).await.unwrap().is_empty());
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
