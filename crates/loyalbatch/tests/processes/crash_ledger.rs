//! Process-level: SIGKILL the real binary several times during thousands of balance adjustments; every balance is then exactly the sum of its items.

use crate::node::*;
use serde_json::{Value, json};
use std::collections::HashMap;

const CUSTOMERS: usize = 50;
const JOBS: usize = 8;
const ITEMS: usize = 500;

#[tokio::test]
async fn sigkill_during_adjustments_applies_every_item_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("loyalbatch.db").display());
    // Small chunks and a short lease: many commits to interrupt, quick takeover after a kill.
    let flags = ["--chunk-size", "10", "--lease", "1s", "--workers", "2"];
    let mut node = Node::start(&url, &flags, true);
    let customers: Vec<Value> = (0..CUSTOMERS)
        .map(|c| json!({"customerId": format!("c{c}")}))
        .collect();
    submit(&node.url, "customers", customers).await;
    wait_processed(&node.url, |n| n == CUSTOMERS as u64).await;

    let mut expected: HashMap<String, i64> = HashMap::new();
    for j in 0..JOBS {
        let body: Vec<Value> = (0..ITEMS)
            .map(|i| {
                let customer = format!("c{}", (i * 7 + j) % CUSTOMERS);
                let points = (i % 9 + 1) as i64;
                *expected.entry(customer.clone()).or_default() += points;
                json!({"customerId": customer, "amount": points, "reason": format!("job {j} item {i}")})
            })
            .collect();
        submit(&node.url, "balance-adjustment", body).await;
    }
    let total = (CUSTOMERS + JOBS * ITEMS) as u64;
    let mut kills = Vec::new();
    for share in [4, 2, 1] {
        let threshold = CUSTOMERS as u64 + (JOBS * ITEMS) as u64 * share / 5;
        kills.push(wait_processed(&node.url, |n| n >= threshold && n < total).await);
        node.kill();
        node = Node::start(&url, &flags, true);
    }
    wait_processed(&node.url, |n| n == total).await;
    for job in jobs(&node.url).await {
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(job["errorCount"], 0, "{job}");
    }
    for (customer, points) in &expected {
        assert_eq!(
            available_points(&node.url, customer).await,
            *points,
            "{customer} (killed at {kills:?} processed items)"
        );
    }
    node.kill();
    let conn = rusqlite::Connection::open(dir.path().join("loyalbatch.db")).unwrap();
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT transaction_id) FROM movements",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (rows, distinct),
        ((JOBS * ITEMS) as i64, (JOBS * ITEMS) as i64)
    );
}
