//! Deliveries are fair between tenants: one tenant's endpoints that never
//! answer take at most its share of the deliverer's slots, and another
//! tenant's event goes out meanwhile.

use super::*;
use test_support::receiver::Answer;

async fn a_tenants_black_holes_never_hold_another_tenants_event() {
    // Four slots, two per tenant, one per endpoint; A's endpoints answer only
    // after a minute, within the timeout (they hold their slots that long).
    let s = server(Some(DeliveryConfig {
        concurrency: 4,
        per_tenant: 2,
        per_endpoint: 1,
        timeout: Duration::from_secs(60),
        ..deliveries(Duration::from_secs(600))
    }))
    .await;
    let black_hole = Receiver::start(Box::new(|_, _| Answer {
        status: 200,
        delay: Duration::from_secs(60),
    }))
    .await;
    for n in 0..4 {
        register(&s, &format!("{}?endpoint={n}", black_hole.url), None).await;
    }
    // Sixteen deliveries of A's, older than B's one.
    for i in 0..4 {
        let job = s.submit("customers", customers(1, &format!("a{i}-"))).await;
        s.wait_for(job, JobState::Completed).await;
    }
    let b_receiver = Receiver::accepting().await;
    let (status, _) = read(
        s.as_b(Method::POST, &format!("{BASE}/webhooks"))
            .json(&json!({"url": b_receiver.url}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, created) = read(
        s.as_b(Method::POST, &format!("{BASE}/batch/customers"))
            .json(&json!({"body": [{"customerId": "b"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let b_job = created["jobId"].as_i64().unwrap();
    // B's event arrives while A's deliveries hang in their two slots.
    b_receiver
        .wait_until(Duration::from_secs(20), "B's event", |r| {
            r.iter().any(|x| x.event_id == format!("evt_{b_job}"))
        })
        .await;
    assert_eq!(
        black_hole.received().len(),
        2,
        "A holds no more than its share of the slots"
    );
}

crate::on_both_backends!(a_tenants_black_holes_never_hold_another_tenants_event);
