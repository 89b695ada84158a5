use super::*;
use domain::ledger::parse::parse_cashback;
use domain::{ItemFailure, Success};
use serde_json::json;

fn cashback(tx: &str) -> ChunkItems {
    let item = parse_cashback(json!({
        "customerId": "c1", "transactionId": tx,
        "transactionTime": "2026-11-28T10:00:00Z", "amount": 10
    }))
    .unwrap();
    ChunkItems::single(item)
}

fn call(tenant: TenantId, items: ChunkItems, second: i64) -> SingleCall {
    SingleCall {
        tenant,
        items,
        now: OffsetDateTime::from_unix_timestamp(1_800_000_000 + second).unwrap(),
    }
}

#[test]
fn calls_of_one_tenant_and_kind_become_one_chunk_in_arrival_order() {
    let merged = merge(vec![
        call(1, cashback("a"), 0),
        call(2, cashback("b"), 3),
        call(1, ChunkItems::order_transactions("o1".into()), 1),
        call(1, cashback("c"), 2),
    ]);
    assert_eq!(
        merged.len(),
        3,
        "tenant 1 ledger, tenant 2 ledger, tenant 1 orders"
    );
    assert_eq!(
        (merged[0].tenant, indexes(&merged[0].items)),
        (1, vec![0, 1])
    );
    assert_eq!(merged[0].items.transaction_ids(), ["a", "c"]);
    assert_eq!(
        merged[0].now,
        call(1, cashback("x"), 2).now,
        "the latest clock"
    );
    assert_eq!((merged[1].tenant, indexes(&merged[1].items)), (2, vec![0]));
    assert!(matches!(merged[2].items, ChunkItems::OrderTransactions(_)));
    assert_eq!(
        merged.iter().map(|m| m.members.clone()).collect::<Vec<_>>(),
        [vec![(0, 0), (3, 0)], vec![(1, 0)], vec![(2, 0)]]
    );
}

fn saved() -> Success {
    Success::Customer {
        customer_id: "c1".into(),
        gameball_id: 1,
        message: "saved",
    }
}

#[test]
fn each_outcome_goes_back_to_its_call_with_its_own_index() {
    let merged = merge(vec![call(1, cashback("a"), 0), call(1, cashback("b"), 0)]);
    let m = &merged[0];
    let failure = ItemFailure::invalid("no");
    let split = m.split(vec![
        Outcome::succeeded(0, saved()),
        Outcome::failed(1, Some("c1".into()), failure),
        // An index the chunk never had is nobody's.
        Outcome::succeeded(7, saved()),
    ]);
    assert_eq!(split.len(), 2);
    assert_eq!(
        (split[0].0, split[0].1.index, split[0].1.is_success()),
        (0, 0, true)
    );
    assert_eq!(
        (split[1].0, split[1].1.index, split[1].1.is_success()),
        (1, 0, false)
    );
}
