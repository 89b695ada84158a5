//! A chunk of items of one job: parsed in order, applied to the state the store loaded, giving effects and outcomes.

use crate::customers::{self, CustomerUpsert};
use crate::events::{self, EventsItem};
use crate::ids::CustomerId;
use crate::ledger::parse::{self, LedgerItem};
use crate::ledger::post;
use crate::limits;
use crate::outcome::{ItemFailure, Outcome, ParseResult, Rejected, Success};
use crate::settings::ProgramSettings;
use crate::state::{ChunkEffects, ChunkState, CustomerWrite, NewEvent, Touched, customer_entry};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use wire::BatchType;

/// One item after parsing: its position in the job and the typed item or why it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub index: u32,
    pub item: ParseResult<T>,
}

/// A chunk's items, typed by batch type.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkItems {
    Customers(Vec<Parsed<CustomerUpsert>>),
    Events(Vec<Parsed<EventsItem>>),
    /// Balance inquiries, adjustments, cashback, redemptions, holds, orders, refunds.
    Ledger(Vec<Parsed<LedgerItem>>),
    /// Order ids whose transactions to list (read only).
    OrderTransactions(Vec<Parsed<String>>),
}

impl ChunkItems {
    /// Parses raw item texts, each with its index in the job's `body`.
    pub fn parse<'a>(
        batch_type: BatchType,
        raw: impl IntoIterator<Item = (u32, &'a str)>,
    ) -> ChunkItems {
        fn each<'a, T>(
            raw: impl IntoIterator<Item = (u32, &'a str)>,
            parse: fn(Value) -> ParseResult<T>,
        ) -> Vec<Parsed<T>> {
            raw.into_iter()
                .map(|(index, text)| Parsed {
                    index,
                    item: if text.len() > limits::MAX_ITEM_BYTES {
                        Err(oversized(text))
                    } else {
                        match serde_json::from_str::<Value>(text) {
                            Ok(v) => parse(v),
                            Err(e) => Err(Rejected::new(
                                None,
                                ItemFailure::invalid(format!("item: not JSON ({e})")),
                            )),
                        }
                    },
                })
                .collect()
        }
        match batch_type {
            BatchType::Customers => ChunkItems::Customers(each(raw, customers::parse)),
            BatchType::Events => ChunkItems::Events(each(raw, events::parse)),
            BatchType::BalanceInquiry => ChunkItems::Ledger(each(raw, parse::parse_balance)),
            BatchType::BalanceAdjustment => ChunkItems::Ledger(each(raw, parse::parse_adjustment)),
            BatchType::Cashback => ChunkItems::Ledger(each(raw, parse::parse_cashback)),
            BatchType::Redeem => ChunkItems::Ledger(each(raw, parse::parse_redeem)),
            BatchType::Orders => ChunkItems::Ledger(each(raw, parse::parse_order)),
            BatchType::OrderTransactions => {
                ChunkItems::OrderTransactions(each(raw, parse::parse_order_id))
            }
        }
    }

    /// Earlier transactions the chunk reads (refunded transactions, listed orders):
    /// the store loads every movement naming them.
    pub fn reference_ids(&self) -> Vec<String> {
        let mut seen = FxHashSet::default();
        let ids: Vec<&str> = match self {
            ChunkItems::Ledger(v) => v
                .iter()
                .filter_map(|p| p.item.as_ref().ok()?.reference_id())
                .collect(),
            ChunkItems::OrderTransactions(v) => {
                v.iter().filter_map(|p| p.item.as_deref().ok()).collect()
            }
            _ => Vec::new(),
        };
        ids.into_iter()
            .filter(|id| seen.insert(*id))
            .map(str::to_owned)
            .collect()
    }

    /// Whether applying the chunk reads customers' profiles (only upserts merge
    /// into them): the store may skip loading them otherwise.
    pub fn reads_profiles(&self) -> bool {
        matches!(self, ChunkItems::Customers(_))
    }

    /// Test helper: a JSON array's elements as the items of a chunk, indexed from 0.
    #[cfg(test)]
    pub(crate) fn from_json_array(batch_type: BatchType, body: &Value) -> ChunkItems {
        let texts: Vec<String> = body
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(Value::to_string)
            .collect();
        ChunkItems::parse(
            batch_type,
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| (i as u32, t.as_str())),
        )
    }

    /// A chunk of the one item `text` at `index` that fails with `failure` unapplied:
    /// how the engine records an item isolated as the cause of an internal error.
    pub fn failing(
        batch_type: BatchType,
        index: u32,
        text: &str,
        failure: ItemFailure,
    ) -> ChunkItems {
        let rejected = Rejected::new(claimed_customer_id(text), failure);
        fn one<T>(index: u32, r: Rejected) -> Vec<Parsed<T>> {
            vec![Parsed {
                index,
                item: Err(r),
            }]
        }
        match batch_type {
            BatchType::Customers => ChunkItems::Customers(one(index, rejected)),
            BatchType::Events => ChunkItems::Events(one(index, rejected)),
            BatchType::OrderTransactions => ChunkItems::OrderTransactions(one(index, rejected)),
            BatchType::BalanceInquiry
            | BatchType::BalanceAdjustment
            | BatchType::Cashback
            | BatchType::Redeem
            | BatchType::Orders => ChunkItems::Ledger(one(index, rejected)),
        }
    }

    /// One ledger item outside any job (a single call).
    pub fn single(item: LedgerItem) -> ChunkItems {
        item.into()
    }

    /// The transactions of one order, outside any job (`GET /orders/{id}/transactions`).
    pub fn order_transactions(order_id: String) -> ChunkItems {
        ChunkItems::OrderTransactions(first(order_id))
    }

    /// The transaction ids the valid items name, distinct: the store reports
    /// which of them its tenant already used.
    pub fn transaction_ids(&self) -> Vec<String> {
        let ChunkItems::Ledger(v) = self else {
            return Vec::new();
        };
        let mut seen = FxHashSet::default();
        v.iter()
            .filter_map(|p| p.item.as_ref().ok()?.transaction_id())
            .filter(|id| seen.insert(*id))
            .map(str::to_owned)
            .collect()
    }

    /// An upper bound of the movements the chunk records: the store allocates
    /// that many `gameballTransactionId`s before applying it.
    pub fn movements_needed(&self, settings: &ProgramSettings) -> usize {
        match self {
            ChunkItems::Customers(_) => 0,
            ChunkItems::Events(v) if settings.event_rewards.is_empty() => {
                let _ = v;
                0
            }
            ChunkItems::Events(v) => v
                .iter()
                .filter(|p| {
                    p.item.as_ref().is_ok_and(|e| {
                        e.events
                            .iter()
                            .any(|ev| settings.event_rewards.contains_key(&ev.name))
                    })
                })
                .count(),
            ChunkItems::Ledger(v) => v
                .iter()
                .filter_map(|p| p.item.as_ref().ok())
                .map(LedgerItem::movements_needed)
                .sum(),
            ChunkItems::OrderTransactions(_) => 0,
        }
    }

    /// The distinct customers the valid items touch, in order of first appearance:
    /// the keys the store loads, each with whether an item may create it (the
    /// store allocates ids for those when missing).
    pub fn customer_ids(&self) -> Vec<(CustomerId, bool)> {
        let ids: Vec<(&CustomerId, bool)> = match self {
            ChunkItems::Customers(v) => v
                .iter()
                .filter_map(|p| p.item.as_ref().ok().map(|u| (&u.customer_id, true)))
                .collect(),
            ChunkItems::Events(v) => v
                .iter()
                .filter_map(|p| p.item.as_ref().ok().map(|e| (&e.customer_id, true)))
                .collect(),
            ChunkItems::Ledger(v) => v
                .iter()
                .filter_map(|p| {
                    let i = p.item.as_ref().ok()?;
                    Some((&i.customer_id, i.creates_customer()))
                })
                .collect(),
            ChunkItems::OrderTransactions(_) => Vec::new(),
        };
        let mut position: FxHashMap<&CustomerId, usize> = FxHashMap::default();
        position.reserve(ids.len());
        let mut keys: Vec<(CustomerId, bool)> = Vec::with_capacity(ids.len());
        for (id, creates) in ids {
            match position.get(id) {
                Some(&at) => keys[at].1 |= creates,
                None => {
                    position.insert(id, keys.len());
                    keys.push((id.clone(), creates));
                }
            }
        }
        keys
    }
}

/// A valid item as the only one of its chunk (a single call).
fn first<T>(item: T) -> Vec<Parsed<T>> {
    vec![Parsed {
        index: 0,
        item: Ok(item),
    }]
}

impl From<CustomerUpsert> for ChunkItems {
    fn from(item: CustomerUpsert) -> ChunkItems {
        ChunkItems::Customers(first(item))
    }
}

impl From<EventsItem> for ChunkItems {
    fn from(item: EventsItem) -> ChunkItems {
        ChunkItems::Events(first(item))
    }
}

impl From<LedgerItem> for ChunkItems {
    fn from(item: LedgerItem) -> ChunkItems {
        ChunkItems::Ledger(first(item))
    }
}

/// An item over [`limits::MAX_ITEM_BYTES`] fails unparsed.
fn oversized(text: &str) -> Rejected {
    Rejected::new(
        claimed_customer_id(text),
        ItemFailure::new(
            wire::ErrorCode::LimitExceeded,
            format!("item: larger than {} bytes", limits::MAX_ITEM_BYTES),
        ),
    )
}

/// The `customerId` an item's text names, read without building the rest of
/// it (for the failure entry of an item that is not applied).
fn claimed_customer_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Key {
        #[serde(rename = "customerId")]
        customer_id: Option<Value>,
    }
    match serde_json::from_str::<Key>(text).ok()?.customer_id? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Applies the items in order. Items of one chunk that touch the same customer see
/// each other's effects; each customer is written once, in its final state.
pub fn apply(mut state: ChunkState, items: ChunkItems) -> ChunkEffects {
    let mut out = ChunkEffects::default();
    let mut touched = Touched::default();
    match items {
        ChunkItems::Customers(parsed) => {
            out.outcomes.reserve(parsed.len());
            for p in parsed {
                let outcome = match p.item {
                    Err(r) => Outcome::rejected(p.index, r),
                    Ok(upsert) => {
                        let created = !state.customers.contains_key(&upsert.customer_id);
                        let record = customer_entry(
                            &mut state.customers,
                            &state.fresh_ids,
                            &upsert.customer_id,
                        );
                        customers::merge(&mut record.profile, upsert.patch);
                        let gameball_id = record.gameball_id;
                        touched.profile(&upsert.customer_id);
                        let message = if created {
                            "Customer created successfully"
                        } else {
                            "Customer updated successfully"
                        };
                        Outcome::succeeded(
                            p.index,
                            Success::Customer {
                                customer_id: upsert.customer_id.into_string(),
                                gameball_id,
                                message,
                            },
                        )
                    }
                };
                out.outcomes.push(outcome);
            }
        }
        ChunkItems::Events(parsed) => {
            out.outcomes.reserve(parsed.len());
            for p in parsed {
                let outcome = match p.item {
                    Err(r) => Outcome::rejected(p.index, r),
                    Ok(item) => 'item: {
                        let names: Vec<String> =
                            item.events.iter().map(|e| e.name.clone()).collect();
                        let reported = || Some(item.customer_id.as_str().to_owned());
                        // Refusals come before anything is created or recorded.
                        let rewarded_points =
                            match post::event_reward_points(&state.settings, &names) {
                                Ok(points) => points,
                                Err(f) => break 'item Outcome::failed(p.index, reported(), f),
                            };
                        let is_new = !state.customers.contains_key(&item.customer_id);
                        let gameball_id = customer_entry(
                            &mut state.customers,
                            &state.fresh_ids,
                            &item.customer_id,
                        )
                        .gameball_id;
                        if let Err(f) = post::reward_events(
                            &mut state,
                            &mut out,
                            &mut touched,
                            p.index,
                            &item.customer_id,
                            rewarded_points,
                        ) {
                            // Only an existing customer's balance can be at its limit.
                            break 'item Outcome::failed(p.index, reported(), f);
                        }
                        if is_new {
                            touched.profile(&item.customer_id);
                        }
                        for e in item.events {
                            out.events.push(NewEvent {
                                gameball_id,
                                name: e.name,
                                metadata: e.metadata,
                                item_index: p.index,
                            });
                        }
                        Outcome::succeeded(
                            p.index,
                            Success::Events {
                                customer_id: item.customer_id.into_string(),
                                events: names,
                                rewarded_points,
                            },
                        )
                    }
                };
                out.outcomes.push(outcome);
            }
        }
        ChunkItems::Ledger(parsed) => {
            out.outcomes.reserve(parsed.len());
            for p in parsed {
                let outcome = match p.item {
                    Err(r) => Outcome::rejected(p.index, r),
                    Ok(item) => post::post(&mut state, &mut out, &mut touched, p.index, item),
                };
                out.outcomes.push(outcome);
            }
        }
        ChunkItems::OrderTransactions(parsed) => {
            out.outcomes = parsed
                .into_iter()
                .map(|p| match p.item {
                    Err(r) => Outcome::rejected(p.index, r),
                    Ok(order_id) => post::order_transactions(&state.recorded, p.index, order_id),
                })
                .collect();
        }
    }
    // A customer is new when the store did not load it (it got a fresh id).
    let Touched { order, seen } = touched;
    out.customer_writes = order
        .into_iter()
        .filter_map(|id| {
            let is_new = state.fresh_ids.contains_key(&id);
            let (profile_changed, ledger_changed) = seen[&id];
            let record = state.customers.remove(&id)?;
            Some(CustomerWrite {
                record,
                is_new,
                profile_changed,
                ledger_changed,
            })
        })
        .collect();
    out
}

#[cfg(test)]
mod tests {
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
}
