//! Conformance: claims, leases and fencing, fairness, stop, failing a job.

use super::*;
use std::sync::Arc;

pub async fn a_claim_holds_until_its_lease_lapses_and_a_stale_fence_cannot_commit(
    store: Arc<dyn Store>,
) {
    let t = tenant(&*store, "a").await;
    let id = submit(&*store, t, &customer_items(4, "c")).await;
    let start = now();
    let first = store.claim_job(start, LEASE).await.unwrap().unwrap();
    assert!(
        !first.taken_over,
        "a queued job's first claim is no takeover"
    );
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
    assert!(second.taken_over);

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
    assert!(!again.taken_over, "a job given back is no takeover");
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
            StopOutcome::AlreadyStopped(_)
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
