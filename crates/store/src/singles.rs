//! Single calls share transactions (group commit): 64 checkouts at once are a
//! few commits, not 64 fsyncs, and a few chunks' statements, not 64 times a
//! chunk's.
//!
//! A call waits in a queue ([`crate::grouped`]); its group goes to the
//! backend's [`GroupCommit::together`], which applies the
//! calls of each tenant and kind as one chunk ([`merge`]: their items in
//! arrival order, so each sees the ones before it exactly as if they had been
//! applied one after another) in one transaction, and only after its commit is
//! each call answered, with its own outcome (and its own item indexes on what
//! it wrote).
//!
//! If a group fails (a database error, not an item's failure, which is that
//! call's outcome), nothing of it was written, and each of its calls is applied
//! again alone, so one call's fault is never another's answer.

use crate::grouped::{Batcher, Grouped, all_failed};
use crate::types::{StoreError, TenantId};
use async_trait::async_trait;
use domain::{ChunkEffects, ChunkItems, Outcome, Parsed};
use std::sync::Arc;
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

/// A backend's two ways of applying single calls.
#[async_trait]
pub trait GroupCommit: Send + Sync + 'static {
    /// The calls in one transaction ([`merge`]d): each call's outcome, in
    /// order, once committed; an error when nothing was written.
    async fn together(
        &self,
        calls: Vec<SingleCall>,
    ) -> Result<Vec<Result<Outcome, StoreError>>, StoreError>;

    /// One call in a transaction of its own.
    async fn alone(&self, call: SingleCall) -> Result<Outcome, StoreError>;
}

/// Single calls served in groups over a backend's [`GroupCommit`].
pub type Committer = Batcher<SingleCall, Outcome>;

/// The committer of single calls over `backend`: at most `in_flight` groups
/// of at most `size` calls at once.
pub fn committer(backend: Arc<dyn GroupCommit>, in_flight: usize, size: usize) -> Committer {
    Batcher::start(Arc::new(Singles(backend)), in_flight, size)
}

struct Singles(Arc<dyn GroupCommit>);

#[async_trait]
impl Grouped<SingleCall, Outcome> for Singles {
    async fn run(&self, calls: Vec<SingleCall>) -> Vec<Result<Outcome, StoreError>> {
        let backend = &*self.0;
        if calls.len() == 1 {
            let mut one = Vec::with_capacity(1);
            for call in calls {
                one.push(backend.alone(call).await);
            }
            return one;
        }
        let again = calls.clone();
        match backend.together(calls).await {
            Ok(outcomes) => outcomes,
            // The database cannot take work now: one by one it could not either.
            Err(e @ (StoreError::Unavailable(_) | StoreError::TimedOut)) => {
                all_failed(again.len(), &e)
            }
            Err(e) => {
                tracing::debug!(error = %e, calls = again.len(), "a group of single calls failed; applying them one by one");
                let mut outcomes = Vec::with_capacity(again.len());
                for call in again {
                    outcomes.push(backend.alone(call).await);
                }
                outcomes
            }
        }
    }
}

/// Each call's one outcome, from the merged chunks' outcomes.
pub fn per_call(
    calls: usize,
    merged: Vec<(Merged, Vec<Outcome>)>,
) -> Vec<Result<Outcome, StoreError>> {
    let mut per_call: Vec<Vec<Outcome>> = vec![Vec::new(); calls];
    for (m, outcomes) in merged {
        for (call, outcome) in m.split(outcomes) {
            if let Some(outcomes) = per_call.get_mut(call) {
                outcomes.push(outcome);
            }
        }
    }
    per_call
        .into_iter()
        .map(crate::chunk::single_outcome)
        .collect()
}

#[cfg(test)]
mod tests;
