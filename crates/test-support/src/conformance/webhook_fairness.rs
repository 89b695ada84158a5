//! Webhook delivery shared fairly: claims take turns between tenants within
//! their caps, and an endpoint that keeps failing is paused.

use super::webhooks::{complete_next, deliveries, endpoint, up_to};
use super::*;
use domain::webhooks::{EndpointBackoff, EventType};
use std::sync::Arc;

/// `n` jobs of one item each for `tenant`, each run to its end.
async fn ended_jobs(store: &dyn Store, tenant: TenantId, n: usize, prefix: &str) {
    for i in 0..n {
        submit(store, tenant, &customer_items(1, &format!("{prefix}{i}"))).await;
        complete_next(store).await;
    }
}

fn failed(claim: &DeliveryClaim, at: OffsetDateTime) -> AttemptReport {
    AttemptReport {
        id: claim.id,
        token: claim.token,
        attempted_at: to_millis(at),
        status_code: None,
        error: Some("no answer within 10 s".into()),
        result: AttemptResult::Retry {
            next_attempt_at: to_millis(at),
        },
    }
}

pub async fn claims_take_turns_between_tenants_within_their_caps(store: Arc<dyn Store>) {
    let s = &*store;
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    let named = |name: &'static str, tenant: TenantId| async move {
        s.create_webhook(
            tenant,
            NewWebhook {
                url: format!("http://127.0.0.1:9/{name}"),
                events: EventType::ALL.to_vec(),
                secret: "whsec_test".into(),
            },
            16,
            now(),
        )
        .await
        .unwrap();
    };
    named("a1", a).await;
    named("a2", a).await;
    named("b1", b).await;
    // A's deliveries are older: ten events, each to both of its endpoints.
    ended_jobs(s, a, 10, "a").await;
    ended_jobs(s, b, 1, "b").await;
    let limits = ClaimLimits {
        limit: 4,
        per_tenant: 3,
        per_endpoint: 2,
    };
    let first = s.claim_deliveries(now(), LEASE, limits).await.unwrap();
    let of = |name: &str, claims: &[DeliveryClaim]| {
        claims
            .iter()
            .filter(|c| c.url.ends_with(&format!("/{name}")))
            .count()
    };
    // B's one delivery is taken in its turn, though A's twenty are older.
    assert_eq!(first.len(), 4);
    assert_eq!(of("b1", &first), 1, "B's turn comes");
    assert!(
        of("a1", &first) <= 2 && of("a2", &first) <= 2,
        "per endpoint"
    );
    // What is leased counts: A has 3 in flight, its cap; B has nothing due.
    let second = s.claim_deliveries(now(), LEASE, up_to(100)).await.unwrap();
    let second_a = s.claim_deliveries(now(), LEASE, limits).await.unwrap();
    assert_eq!(
        second_a.len(),
        0,
        "A is at its cap while its claims are leased"
    );
    // Without caps the rest of A's are taken.
    assert_eq!(second.len(), 20 - 3);
}

pub async fn an_endpoint_that_keeps_failing_is_paused_and_a_success_clears_it(
    store: Arc<dyn Store>,
) {
    let s = &*store;
    let a = tenant(s, "a").await;
    let hook = endpoint(s, a, &EventType::ALL).await;
    ended_jobs(s, a, 4, "p").await;
    let backoff = EndpointBackoff {
        after: 2,
        first: Duration::from_secs(60),
        longest: Duration::from_secs(600),
    };
    let one = ClaimLimits {
        limit: 1,
        per_tenant: 10,
        per_endpoint: 10,
    };
    let t0 = now();
    let c1 = s.claim_deliveries(t0, LEASE, one).await.unwrap();
    s.record_attempts(vec![failed(&c1[0], t0)], backoff)
        .await
        .unwrap();
    // One failure: not paused yet.
    let c2 = s.claim_deliveries(t0, LEASE, one).await.unwrap();
    assert_eq!(c2.len(), 1);
    s.record_attempts(vec![failed(&c2[0], t0)], backoff)
        .await
        .unwrap();
    // Two in a row: paused for a minute; the endpoint's deliveries wait, none is lost.
    assert!(
        s.claim_deliveries(t0, LEASE, up_to(10))
            .await
            .unwrap()
            .is_empty()
    );
    let after = add(t0, Duration::from_secs(61));
    let c3 = s.claim_deliveries(after, LEASE, one).await.unwrap();
    assert_eq!(c3.len(), 1, "due again once the pause is over");
    s.record_attempts(
        vec![AttemptReport {
            id: c3[0].id,
            token: c3[0].token,
            attempted_at: to_millis(after),
            status_code: Some(200),
            error: None,
            result: AttemptResult::Delivered,
        }],
        backoff,
    )
    .await
    .unwrap();
    // A success clears the count: one more failure does not pause it.
    let c4 = s.claim_deliveries(after, LEASE, one).await.unwrap();
    s.record_attempts(vec![failed(&c4[0], after)], backoff)
        .await
        .unwrap();
    let rest = s.claim_deliveries(after, LEASE, up_to(10)).await.unwrap();
    assert!(
        !rest.is_empty(),
        "one failure after a success: still delivering"
    );
    assert_eq!(deliveries(s, a, hook).await.len(), 4, "every delivery kept");
}
