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
use wire::{BatchType, ErrorCode};

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
    /// How many items the chunk has.
    pub fn len(&self) -> usize {
        match self {
            ChunkItems::Customers(v) => v.len(),
            ChunkItems::Events(v) => v.len(),
            ChunkItems::Ledger(v) => v.len(),
            ChunkItems::OrderTransactions(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses raw item texts, each with its index in the job's `body`.
    #[tracing::instrument(level = "debug", name = "parse", skip_all, fields(r#type = %batch_type))]
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

/// One customer upsert (or tag change, which needs an existing customer).
fn upsert_customer(
    state: &mut ChunkState,
    touched: &mut Touched,
    index: u32,
    upsert: customers::CustomerUpsert,
) -> Outcome {
    let reported = || Some(upsert.customer_id.to_string());
    let created = !state.customers.contains_key(&upsert.customer_id);
    if upsert.tags.is_some() && created {
        return Outcome::failed(
            index,
            reported(),
            ItemFailure::new(
                ErrorCode::CustomerNotFound,
                format!("customerId: no customer \"{}\"", upsert.customer_id),
            ),
        );
    }
    let record = customer_entry(&mut state.customers, &state.fresh_ids, &upsert.customer_id);
    if let Some(change) = &upsert.tags {
        let mut changed = record.profile.clone();
        if let Err(f) = customers::change_tags(&mut changed, change) {
            return Outcome::failed(index, reported(), f);
        }
        record.profile = changed;
    }
    if customers::touches_custom(&upsert.patch) {
        // The merged profile is checked on a copy: a refusal changes nothing.
        let mut merged = record.profile.clone();
        customers::merge(&mut merged, upsert.patch);
        if let Err(f) = customers::check_custom(&merged) {
            if created {
                state.customers.remove(&upsert.customer_id);
            }
            return Outcome::failed(index, reported(), f);
        }
        record.profile = merged;
    } else {
        customers::merge(&mut record.profile, upsert.patch);
    }
    let gameball_id = record.gameball_id;
    touched.profile(&upsert.customer_id);
    let message = if created {
        "Customer created successfully"
    } else {
        "Customer updated successfully"
    };
    Outcome::succeeded(
        index,
        Success::Customer {
            customer_id: upsert.customer_id.into_string(),
            gameball_id,
            message,
        },
    )
}

/// One customer's events: recorded, and the configured rewards credited.
fn record_events(
    state: &mut ChunkState,
    out: &mut ChunkEffects,
    touched: &mut Touched,
    index: u32,
    item: events::EventsItem,
) -> Outcome {
    let names: Vec<String> = item.events.iter().map(|e| e.name.clone()).collect();
    let reported = || Some(item.customer_id.as_str().to_owned());
    // Refusals come before anything is created or recorded.
    let rewarded_points = match post::event_reward_points(&state.settings, &names) {
        Ok(points) => points,
        Err(f) => return Outcome::failed(index, reported(), f),
    };
    let is_new = !state.customers.contains_key(&item.customer_id);
    let gameball_id =
        customer_entry(&mut state.customers, &state.fresh_ids, &item.customer_id).gameball_id;
    if let Err(f) = post::reward_events(
        state,
        out,
        touched,
        index,
        &item.customer_id,
        rewarded_points,
    ) {
        // Only an existing customer's balance can be at its limit.
        return Outcome::failed(index, reported(), f);
    }
    if is_new {
        touched.profile(&item.customer_id);
    }
    for e in item.events {
        out.events.push(NewEvent {
            gameball_id,
            name: e.name,
            metadata: e.metadata,
            item_index: index,
        });
    }
    Outcome::succeeded(
        index,
        Success::Events {
            customer_id: item.customer_id.into_string(),
            events: names,
            rewarded_points,
        },
    )
}

/// Applies the items in order. Items of one chunk that touch the same customer see
/// each other's effects; each customer is written once, in its final state.
#[tracing::instrument(level = "debug", name = "rules", skip_all, fields(chunk.items = items.len()))]
pub fn apply(mut state: ChunkState, items: ChunkItems) -> ChunkEffects {
    let mut out = ChunkEffects::default();
    let mut touched = Touched::default();
    match items {
        ChunkItems::Customers(parsed) => {
            out.outcomes.reserve(parsed.len());
            for p in parsed {
                let outcome = match p.item {
                    Err(r) => Outcome::rejected(p.index, r),
                    Ok(upsert) => upsert_customer(&mut state, &mut touched, p.index, upsert),
                };
                out.outcomes.push(outcome);
            }
        }
        ChunkItems::Events(parsed) => {
            out.outcomes.reserve(parsed.len());
            for p in parsed {
                let outcome = match p.item {
                    Err(r) => Outcome::rejected(p.index, r),
                    Ok(item) => record_events(&mut state, &mut out, &mut touched, p.index, item),
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
mod tests;
