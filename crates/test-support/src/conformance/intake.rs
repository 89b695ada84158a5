//! Conformance: job intake, idempotency, queue limit, reads, list and purge.

use super::*;
use std::sync::Arc;

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

pub async fn jobs_are_read_together_each_under_its_own_tenant(store: Arc<dyn Store>) {
    let a = tenant(&*store, "a").await;
    let b = tenant(&*store, "b").await;
    let a1 = submit(&*store, a, &customer_items(1, "c")).await;
    let a2 = submit(&*store, a, &customer_items(2, "c")).await;
    let b1 = submit(&*store, b, &customer_items(3, "c")).await;
    assert!(store.jobs_by_id(&[]).await.unwrap().is_empty());
    let mut found = store
        .jobs_by_id(&[(a, a1), (a, a2), (b, b1), (a, b1), (b, a1), (a, 1_000_000)])
        .await
        .unwrap();
    found.sort_by_key(|j| j.id);
    // Each job once, under its own tenant; another tenant's id and an unknown one are absent.
    let seen: Vec<_> = found
        .iter()
        .map(|j| (j.tenant_id, j.id, j.item_count))
        .collect();
    assert_eq!(seen, vec![(a, a1, 1), (a, a2, 2), (b, b1, 3)]);
    assert_eq!(found[0], store.job(a, a1).await.unwrap().unwrap());
    assert!(store.jobs_by_id(&[(b, a1)]).await.unwrap().is_empty());
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
