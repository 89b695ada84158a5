//! Webhooks: the delivery rows a job's end writes, claims under a lease, attempts, endpoints.

use super::*;
use domain::webhooks::{EndpointBackoff, EventType};
use std::sync::Arc;
use wire::{DeliveryStatus, WebhookEvent};

pub(super) async fn endpoint(store: &dyn Store, tenant: TenantId, events: &[EventType]) -> i64 {
    store
        .create_webhook(
            tenant,
            NewWebhook {
                url: format!("http://127.0.0.1:9/{tenant}"),
                events: events.to_vec(),
                secret: "whsec_test".into(),
            },
            16,
            now(),
        )
        .await
        .unwrap()
        .id
}

/// Claims of up to `n`, any number per tenant and endpoint.
pub(super) fn up_to(n: u32) -> ClaimLimits {
    ClaimLimits {
        limit: n,
        per_tenant: 10_000,
        per_endpoint: 10_000,
    }
}

/// A backoff that never pauses an endpoint (the tests of other rules).
pub(super) const NEVER_PAUSED: EndpointBackoff = EndpointBackoff {
    after: u32::MAX,
    first: Duration::from_secs(1),
    longest: Duration::from_secs(1),
};

pub(super) async fn deliveries(
    store: &dyn Store,
    tenant: TenantId,
    webhook: i64,
) -> Vec<DeliveryRecord> {
    store
        .deliveries(
            tenant,
            webhook,
            DeliveryFilter {
                before: None,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .expect("the tenant's endpoint")
}

/// Runs the next job to its end in one chunk.
pub(super) async fn complete_next(store: &dyn Store) -> JobId {
    let (claim, committed) = claim_and_apply(store, 1000).await;
    assert!(committed.finished.is_some());
    claim.fence.job_id
}

pub async fn a_job_end_writes_one_delivery_per_subscribed_endpoint(store: Arc<dyn Store>) {
    let s = &*store;
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    let quiet = tenant(s, "quiet").await;
    let all = endpoint(s, a, &EventType::ALL).await;
    let completed = endpoint(s, a, &[EventType::Completed]).await;
    let stopped = endpoint(s, a, &[EventType::Stopped]).await;
    let other = endpoint(s, b, &EventType::ALL).await;

    // Completed by its last chunk.
    let done = submit(s, a, &customer_items(3, "c")).await;
    assert_eq!(complete_next(s).await, done);
    // Stopped while queued.
    let halted = submit(s, a, &customer_items(2, "s")).await;
    assert!(matches!(
        s.stop_job(a, halted, now(), RETENTION).await.unwrap(),
        StopOutcome::Stopped(_)
    ));
    // Failed as a whole.
    let broken = submit(s, a, &customer_items(2, "f")).await;
    let claim = s.claim_job(now(), LEASE).await.unwrap().unwrap();
    assert_eq!(claim.fence.job_id, broken);
    assert!(
        s.fail_job(claim.fence, "cannot run", now(), RETENTION)
            .await
            .unwrap()
    );
    // A tenant without endpoints: nothing is written.
    let unheard = submit(s, quiet, &customer_items(1, "q")).await;
    assert_eq!(complete_next(s).await, unheard);

    let jobs = |list: Vec<DeliveryRecord>| {
        let mut v: Vec<(JobId, String)> =
            list.into_iter().map(|d| (d.job_id, d.event_type)).collect();
        v.sort();
        v
    };
    assert_eq!(
        jobs(deliveries(s, a, all).await),
        vec![
            (done, "batch.completed".to_owned()),
            (halted, "batch.stopped".to_owned()),
            (broken, "batch.failed".to_owned()),
        ]
    );
    assert_eq!(
        jobs(deliveries(s, a, completed).await),
        vec![(done, "batch.completed".to_owned())]
    );
    assert_eq!(
        jobs(deliveries(s, a, stopped).await),
        vec![(halted, "batch.stopped".to_owned())]
    );
    assert!(deliveries(s, b, other).await.is_empty());
    for d in deliveries(s, a, all).await {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.attempts, 0);
        assert!(d.next_attempt_at.is_some());
    }

    // The body: the event with the job's final status, without `response`.
    let claims = s.claim_deliveries(now(), LEASE, up_to(100)).await.unwrap();
    assert_eq!(claims.len(), 5);
    let claim = claims
        .iter()
        .find(|c| c.job_id == done && c.url.ends_with(&format!("/{a}")))
        .unwrap();
    assert_eq!(claim.secret, "whsec_test");
    let event: WebhookEvent = serde_json::from_str(&claim.payload).unwrap();
    assert_eq!(event.id, format!("evt_{done}"));
    assert_eq!(event.event_type, "batch.completed");
    assert_eq!(event.data.job_id, done);
    assert_eq!(event.data.status, JobState::Completed);
    assert_eq!(event.data.finished_count, 3);
    assert_eq!(Some(event.created_at), event.data.finished_at);
    let raw: serde_json::Value = serde_json::from_str(&claim.payload).unwrap();
    assert!(raw["data"].get("response").is_none());
    let failed = claims.iter().find(|c| c.job_id == broken).unwrap();
    let event: WebhookEvent = serde_json::from_str(&failed.payload).unwrap();
    assert_eq!(event.data.error.as_deref(), Some("cannot run"));
}

pub async fn deliveries_are_claimed_under_a_lease_and_recorded_only_with_its_token(
    store: Arc<dyn Store>,
) {
    let s = &*store;
    let a = tenant(s, "a").await;
    let hook = endpoint(s, a, &EventType::ALL).await;
    let job = submit(s, a, &customer_items(1, "c")).await;
    complete_next(s).await;

    let t0 = now();
    let first = s.claim_deliveries(t0, LEASE, up_to(10)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].job_id, first[0].attempts), (job, 0));
    // Leased: nobody else gets it.
    assert!(
        s.claim_deliveries(t0, LEASE, up_to(10))
            .await
            .unwrap()
            .is_empty()
    );
    // A failed attempt, due again in 10 s.
    let retry_at = add(t0, Duration::from_secs(10));
    s.record_attempts(
        vec![AttemptReport {
            id: first[0].id,
            token: first[0].token,
            attempted_at: to_millis(t0),
            status_code: Some(500),
            error: Some("answered HTTP 500".into()),
            result: AttemptResult::Retry {
                next_attempt_at: to_millis(retry_at),
            },
        }],
        NEVER_PAUSED,
    )
    .await
    .unwrap();
    let d = &deliveries(s, a, hook).await[0];
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert_eq!((d.attempts, d.last_status_code), (1, Some(500)));
    assert_eq!(d.last_error.as_deref(), Some("answered HTTP 500"));
    assert_eq!(d.next_attempt_at, Some(retry_at));
    assert!(
        s.claim_deliveries(t0, LEASE, up_to(10))
            .await
            .unwrap()
            .is_empty()
    );

    // Due: claimed again with a new token; then its lease lapses and another worker claims it.
    let second = s
        .claim_deliveries(retry_at, LEASE, up_to(10))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 1);
    assert_ne!(second[0].token, first[0].token);
    let after_lease = add(retry_at, LEASE + Duration::from_secs(1));
    let third = s
        .claim_deliveries(after_lease, LEASE, up_to(10))
        .await
        .unwrap();
    assert_eq!(third.len(), 1);
    assert_ne!(third[0].token, second[0].token);
    // The stale holder's report is ignored; the current holder's counts.
    let delivered = |claim: &DeliveryClaim| AttemptReport {
        id: claim.id,
        token: claim.token,
        attempted_at: to_millis(after_lease),
        status_code: Some(204),
        error: None,
        result: AttemptResult::Delivered,
    };
    s.record_attempts(vec![delivered(&second[0])], NEVER_PAUSED)
        .await
        .unwrap();
    assert_eq!(
        deliveries(s, a, hook).await[0].status,
        DeliveryStatus::Pending
    );
    s.record_attempts(vec![delivered(&third[0])], NEVER_PAUSED)
        .await
        .unwrap();
    let d = &deliveries(s, a, hook).await[0];
    assert_eq!(d.status, DeliveryStatus::Delivered);
    assert_eq!((d.attempts, d.last_status_code), (2, Some(204)));
    assert_eq!(d.delivered_at, Some(after_lease));
    assert_eq!(d.next_attempt_at, None);
    let later = add(after_lease, Duration::from_secs(3600));
    assert!(
        s.claim_deliveries(later, LEASE, up_to(10))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_delivery_is_retried_on_demand_whatever_its_state(store: Arc<dyn Store>) {
    let s = &*store;
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    let hook = endpoint(s, a, &EventType::ALL).await;
    submit(s, a, &customer_items(1, "c")).await;
    complete_next(s).await;
    let claim = s
        .claim_deliveries(now(), LEASE, up_to(10))
        .await
        .unwrap()
        .remove(0);
    s.record_attempts(
        vec![AttemptReport {
            id: claim.id,
            token: claim.token,
            attempted_at: to_millis(now()),
            status_code: None,
            error: Some("cannot connect".into()),
            result: AttemptResult::GaveUp,
        }],
        NEVER_PAUSED,
    )
    .await
    .unwrap();
    let d = &deliveries(s, a, hook).await[0];
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert_eq!(d.next_attempt_at, None);
    assert!(
        s.claim_deliveries(now(), LEASE, up_to(10))
            .await
            .unwrap()
            .is_empty()
    );

    // Another tenant cannot; an unknown delivery is not found.
    assert_eq!(
        s.retry_delivery(b, hook, claim.id, now()).await.unwrap(),
        None
    );
    assert_eq!(
        s.retry_delivery(a, hook, claim.id + 1000, now())
            .await
            .unwrap(),
        None
    );
    let at = now();
    let again = s
        .retry_delivery(a, hook, claim.id, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, DeliveryStatus::Pending);
    assert_eq!(again.next_attempt_at, Some(at));
    assert_eq!(again.attempts, 1);
    let claimed = s.claim_deliveries(at, LEASE, up_to(10)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].payload, claim.payload);

    // Asked again while that attempt is in flight: the lease stands (no second
    // sender), and the attempt in flight is recorded.
    let again = s
        .retry_delivery(a, hook, claim.id, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, DeliveryStatus::Pending);
    assert!(
        s.claim_deliveries(at, LEASE, up_to(10))
            .await
            .unwrap()
            .is_empty()
    );
    s.record_attempts(
        vec![AttemptReport {
            id: claimed[0].id,
            token: claimed[0].token,
            attempted_at: to_millis(at),
            status_code: Some(200),
            error: None,
            result: AttemptResult::Delivered,
        }],
        NEVER_PAUSED,
    )
    .await
    .unwrap();
    let d = &deliveries(s, a, hook).await[0];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 2));
    // A replay of a delivered one clears its delivery time until it is delivered again.
    let replay = s
        .retry_delivery(a, hook, claim.id, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replay.delivered_at, None);
}

pub async fn endpoints_are_per_tenant_limited_and_removed_with_their_deliveries(
    store: Arc<dyn Store>,
) {
    let s = &*store;
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    let new = |url: &str| NewWebhook {
        url: url.into(),
        events: vec![EventType::Completed, EventType::Failed],
        secret: "whsec_x".into(),
    };
    let first = s
        .create_webhook(a, new("https://one.example/"), 2, now())
        .await
        .unwrap();
    assert_eq!(first.events, vec!["batch.completed", "batch.failed"]);
    let second = s
        .create_webhook(a, new("https://two.example/"), 2, now())
        .await
        .unwrap();
    assert!(matches!(
        s.create_webhook(a, new("https://three.example/"), 2, now())
            .await,
        Err(StoreError::Conflict(_))
    ));
    s.create_webhook(b, new("https://b.example/"), 2, now())
        .await
        .unwrap();
    let listed = s.webhooks(a).await.unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()]);

    submit(s, a, &customer_items(1, "c")).await;
    complete_next(s).await;
    assert_eq!(deliveries(s, a, first.id).await.len(), 1);
    // Another tenant's endpoint is unknown to it.
    assert!(!s.delete_webhook(b, first.id).await.unwrap());
    let page = DeliveryFilter {
        before: None,
        limit: 10,
    };
    assert_eq!(s.deliveries(b, first.id, page).await.unwrap(), None);

    assert!(s.delete_webhook(a, first.id).await.unwrap());
    assert!(!s.delete_webhook(a, first.id).await.unwrap());
    assert_eq!(s.deliveries(a, first.id, page).await.unwrap(), None);
    assert_eq!(s.webhooks(a).await.unwrap(), vec![second.clone()]);
    // Only the remaining endpoint's delivery is still to be sent.
    let claims = s.claim_deliveries(now(), LEASE, up_to(10)).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].url, "https://two.example/");
}

pub async fn deliveries_are_paged_newest_first_and_settled_ones_purged(store: Arc<dyn Store>) {
    let s = &*store;
    let a = tenant(s, "a").await;
    let hook = endpoint(s, a, &EventType::ALL).await;
    let mut jobs = Vec::new();
    for i in 0..5 {
        jobs.push(submit(s, a, &customer_items(1, &format!("c{i}-"))).await);
        complete_next(s).await;
    }
    let page = |before, limit| DeliveryFilter { before, limit };
    let one = s.deliveries(a, hook, page(None, 2)).await.unwrap().unwrap();
    assert_eq!(
        one.iter().map(|d| d.job_id).collect::<Vec<_>>(),
        vec![jobs[4], jobs[3]]
    );
    let two = s
        .deliveries(a, hook, page(Some(one[1].id), 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        two.iter().map(|d| d.job_id).collect::<Vec<_>>(),
        vec![jobs[2], jobs[1], jobs[0]]
    );

    // Two delivered, three still pending.
    let claims = s.claim_deliveries(now(), LEASE, up_to(2)).await.unwrap();
    let reports = claims
        .iter()
        .map(|c| AttemptReport {
            id: c.id,
            token: c.token,
            attempted_at: to_millis(now()),
            status_code: Some(200),
            error: None,
            result: AttemptResult::Delivered,
        })
        .collect();
    s.record_attempts(reports, NEVER_PAUSED).await.unwrap();
    let later = add(
        now(),
        store::webhooks::DELIVERY_RETENTION + Duration::from_secs(60),
    );
    s.purge_expired(later).await.unwrap();
    let left = s
        .deliveries(a, hook, page(None, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.len(), 3);
    assert!(left.iter().all(|d| d.status == DeliveryStatus::Pending));
}
