//! Single calls grouped into one transaction (group commit), for backends whose
//! commits cost a round trip and an fsync each: the calls of one tenant and one
//! kind become one chunk (their items in arrival order, so each sees the ones
//! before it exactly as if they had been applied one after another), and each
//! call gets back its own outcome, and its own item indexes on what it wrote.

use crate::types::TenantId;
use domain::{ChunkEffects, ChunkItems, Outcome, Parsed};
use time::OffsetDateTime;

/// One single call waiting for the group's transaction.
#[derive(Debug, Clone)]
pub struct SingleCall {
    pub tenant: TenantId,
    pub items: ChunkItems,
    pub now: OffsetDateTime,
}

/// The calls of one tenant and one kind, merged into one chunk.
#[derive(Debug, Clone)]
pub struct Merged {
    pub tenant: TenantId,
    pub items: ChunkItems,
    /// The latest of the calls' clocks: the chunk's `now`.
    pub now: OffsetDateTime,
    /// For the chunk's item `k`: the call it came from (its place in the group)
    /// and the index it had in that call.
    members: Vec<(usize, u32)>,
}

/// Merges a group of calls, in order: each call joins the merged chunk of its
/// tenant and kind, or starts one.
pub fn merge(calls: Vec<SingleCall>) -> Vec<Merged> {
    let mut merged: Vec<Merged> = Vec::new();
    for (call, c) in calls.into_iter().enumerate() {
        let members = indexes(&c.items).into_iter().map(|i| (call, i));
        let kind = std::mem::discriminant(&c.items);
        let joined = merged
            .iter_mut()
            .find(|m| m.tenant == c.tenant && std::mem::discriminant(&m.items) == kind);
        let items = match joined {
            Some(m) => match append(&mut m.items, c.items, m.members.len() as u32) {
                Ok(()) => {
                    m.members.extend(members);
                    m.now = m.now.max(c.now);
                    continue;
                }
                Err(back) => back,
            },
            None => c.items,
        };
        let mut fresh = empty_like(&items);
        // Numbered from 0, as every chunk is.
        if let Err(items) = append(&mut fresh, items, 0) {
            fresh = items;
        }
        merged.push(Merged {
            tenant: c.tenant,
            items: fresh,
            now: c.now,
            members: members.collect(),
        });
    }
    merged
}

impl Merged {
    /// Gives each movement and event the index its item had in its own call.
    pub fn restore_indexes(&self, effects: &mut ChunkEffects) {
        let own = |k: u32| self.members.get(k as usize).map_or(k, |m| m.1);
        for m in &mut effects.movements {
            m.item_index = m.item_index.map(own);
        }
        for e in &mut effects.events {
            e.item_index = own(e.item_index);
        }
    }

    /// The chunk's outcomes, each with the call it belongs to and its own index.
    pub fn split(&self, outcomes: Vec<Outcome>) -> Vec<(usize, Outcome)> {
        outcomes
            .into_iter()
            .filter_map(|mut o| {
                let (call, index) = *self.members.get(o.index as usize)?;
                o.index = index;
                Some((call, o))
            })
            .collect()
    }
}

fn indexes(items: &ChunkItems) -> Vec<u32> {
    fn of<T>(v: &[Parsed<T>]) -> Vec<u32> {
        v.iter().map(|p| p.index).collect()
    }
    match items {
        ChunkItems::Customers(v) => of(v),
        ChunkItems::Events(v) => of(v),
        ChunkItems::Ledger(v) => of(v),
        ChunkItems::OrderTransactions(v) => of(v),
    }
}

fn empty_like(items: &ChunkItems) -> ChunkItems {
    match items {
        ChunkItems::Customers(_) => ChunkItems::Customers(Vec::new()),
        ChunkItems::Events(_) => ChunkItems::Events(Vec::new()),
        ChunkItems::Ledger(_) => ChunkItems::Ledger(Vec::new()),
        ChunkItems::OrderTransactions(_) => ChunkItems::OrderTransactions(Vec::new()),
    }
}

/// Appends `from`'s items to `to`'s, numbered from `start`; `from` comes back
/// untouched when the two are not of one kind.
fn append(to: &mut ChunkItems, from: ChunkItems, start: u32) -> Result<(), ChunkItems> {
    fn onto<T>(to: &mut Vec<Parsed<T>>, from: Vec<Parsed<T>>, start: u32) {
        to.extend(from.into_iter().enumerate().map(|(k, p)| Parsed {
            index: start + k as u32,
            item: p.item,
        }));
    }
    match (to, from) {
        (ChunkItems::Customers(to), ChunkItems::Customers(from)) => onto(to, from, start),
        (ChunkItems::Events(to), ChunkItems::Events(from)) => onto(to, from, start),
        (ChunkItems::Ledger(to), ChunkItems::Ledger(from)) => onto(to, from, start),
        (ChunkItems::OrderTransactions(to), ChunkItems::OrderTransactions(from)) => {
            onto(to, from, start)
        }
        (_, from) => return Err(from),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
