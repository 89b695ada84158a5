//! Tests of parsing a chunk's items and applying them: customers, events and the chunk-level bookkeeping.

use super::*;
use crate::ledger::Ledger;
use crate::state::CustomerRecord;
use serde_json::json;
use wire::ErrorCode;

fn items(batch_type: BatchType, body: Value) -> ChunkItems {
    ChunkItems::from_json_array(batch_type, &body)
}

fn state_for(items: &ChunkItems, existing: Vec<CustomerRecord>) -> ChunkState {
    let mut state = ChunkState::default();
    for r in existing {
        state.customers.insert(r.customer_id.clone(), r);
    }
    let mut next = 100;
    for (id, _) in items.customer_ids() {
        if !state.customers.contains_key(&id) {
            state.fresh_ids.insert(id, next);
            next += 1;
        }
    }
    state
}

fn record(id: &str, gameball_id: i64, profile: Value) -> CustomerRecord {
    CustomerRecord {
        gameball_id,
        customer_id: CustomerId::parse(id).unwrap(),
        profile: profile.as_object().unwrap().clone(),
        ledger: Ledger::default(),
    }
}

#[test]
fn seed_example_creates_both_customers() {
    let chunk = items(
        BatchType::Customers,
        json!([
            {"customerId": "12345", "name": "John Doe", "gender": "M", "dateOfBirth": "1990-01-01"},
            {"customerId": "67890", "name": "Jane Smith", "gender": "F", "dateOfBirth": "1985-05-15"}
        ]),
    );
    let fx = apply(state_for(&chunk, vec![]), chunk.clone());
    let entries: Vec<Value> = fx.outcomes.iter().map(Outcome::entry).collect();
    assert_eq!(
        entries,
        vec![
            json!({"index": 0, "customerId": "12345", "gameballId": 100, "message": "Customer created successfully"}),
            json!({"index": 1, "customerId": "67890", "gameballId": 101, "message": "Customer created successfully"}),
        ]
    );
    assert_eq!(fx.customer_writes.len(), 2);
    assert!(fx.customer_writes.iter().all(|w| w.is_new));
}

#[test]
fn duplicates_in_one_chunk_see_each_other_and_are_written_once() {
    let chunk = items(
        BatchType::Customers,
        json!([
            {"customerId": "a", "email": "1@x.io", "custom": {"k": 1}},
            {"customerId": "b"},
            {"customerId": "a", "mobile": "555", "custom": {"j": 2}}
        ]),
    );
    let fx = apply(state_for(&chunk, vec![]), chunk.clone());
    assert_eq!(
        fx.outcomes[0].entry()["message"],
        "Customer created successfully"
    );
    assert_eq!(
        fx.outcomes[2].entry()["message"],
        "Customer updated successfully"
    );
    assert_eq!(
        fx.outcomes[2].entry()["gameballId"],
        fx.outcomes[0].entry()["gameballId"]
    );
    assert_eq!(fx.customer_writes.len(), 2);
    let a = &fx.customer_writes[0];
    assert_eq!(a.record.customer_id.as_str(), "a");
    assert_eq!(
        Value::Object(a.record.profile.clone()),
        json!({"email": "1@x.io", "customerAttributes": {"custom": {"k": 1, "j": 2}}, "mobile": "555"})
    );
}

#[test]
fn existing_customers_are_updated_in_place() {
    let chunk = items(
        BatchType::Customers,
        json!([{"customerId": "a", "email": "new@x.io"}]),
    );
    let existing = record("a", 7, json!({"email": "old@x.io", "mobile": "1"}));
    let fx = apply(state_for(&chunk, vec![existing]), chunk.clone());
    assert_eq!(fx.outcomes[0].entry()["gameballId"], 7);
    assert_eq!(
        fx.outcomes[0].entry()["message"],
        "Customer updated successfully"
    );
    let w = &fx.customer_writes[0];
    assert!(!w.is_new);
    assert_eq!(
        Value::Object(w.record.profile.clone()),
        json!({"email": "new@x.io", "mobile": "1"})
    );
}

#[test]
fn a_bad_item_fails_alone_and_keeps_its_index() {
    let chunk = items(
        BatchType::Customers,
        json!([
            {"customerId": "a"},
            {"customerId": "b", "customerAttributes": {"dateOfBirth": "15/05/1985"}},
            {"email": "no-id@x.io"},
            {"customerId": "c"}
        ]),
    );
    let keys: Vec<String> = chunk
        .customer_ids()
        .into_iter()
        .map(|(id, _)| id.into_string())
        .collect();
    assert_eq!(keys, ["a", "c"], "only valid items are keys");
    let fx = apply(state_for(&chunk, vec![]), chunk.clone());
    let ok: Vec<u32> = fx
        .outcomes
        .iter()
        .filter(|o| o.is_success())
        .map(|o| o.index)
        .collect();
    assert_eq!(ok, [0, 3]);
    let bad = fx.outcomes[1].entry();
    assert_eq!(bad["customerId"], "b");
    assert_eq!(bad["code"], 3003);
    assert_eq!(
        fx.outcomes[2].entry()["code"],
        ErrorCode::MissingField.code()
    );
    assert_eq!(fx.customer_writes.len(), 2);
}

#[test]
fn events_create_unknown_customers_and_append_every_event() {
    let chunk = items(
        BatchType::Events,
        json!([
            {"customerId": "new", "events": {"login": {}, "review": {"stars": 5}}},
            {"customerId": "old", "events": {"login": {"device": "ios"}}},
            {"customerId": "old", "events": {}}
        ]),
    );
    let fx = apply(
        state_for(&chunk, vec![record("old", 9, json!({}))]),
        chunk.clone(),
    );
    assert_eq!(fx.events.len(), 3);
    assert_eq!(
        fx.events[0],
        NewEvent {
            gameball_id: 100,
            name: "login".into(),
            metadata: "{}".into(),
            item_index: 0
        }
    );
    assert_eq!(fx.events[2].gameball_id, 9);
    assert_eq!(fx.events[2].metadata, r#"{"device":"ios"}"#);
    assert_eq!(
        fx.outcomes[0].entry(),
        json!({"index": 0, "customerId": "new", "events": ["login", "review"], "rewardedPoints": 0})
    );
    assert!(!fx.outcomes[2].is_success());
    let writes: Vec<(&str, bool)> = fx
        .customer_writes
        .iter()
        .map(|w| (w.record.customer_id.as_str(), w.is_new))
        .collect();
    assert_eq!(
        writes,
        [("new", true)],
        "events never rewrite an existing profile"
    );
}

#[test]
fn item_text_that_is_not_an_object_fails_with_3003() {
    let chunk = ChunkItems::parse(
        BatchType::Customers,
        [(0, "42"), (1, "{\"customerId\":\"x\"}")],
    );
    let fx = apply(state_for(&chunk, vec![]), chunk.clone());
    assert_eq!(fx.outcomes[0].entry()["code"], 3003);
    assert!(fx.outcomes[1].is_success());
}
