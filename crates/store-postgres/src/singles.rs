//! Single calls share transactions (group commit): 64 checkouts at once are a
//! few commits, not 64 serial fsyncs and round trips.
//!
//! A call waits in a queue; a committer takes everything queued (up to
//! [`MAX_GROUP`]) into one transaction: it locks the keys of all the group's
//! calls in one statement (ascending, the order every transaction agrees on),
//! applies the calls of each tenant and kind as one chunk
//! ([`store::singles::merge`]: each sees the ones before it exactly as if they
//! had been applied in turn), commits, and only then answers each call with its
//! own outcome. At most [`COMMITTERS`] groups are in flight; while they are,
//! the queue fills and the next group is larger.
//!
//! If a group's transaction fails (a database error, not an item's failure,
//! which is that call's outcome), nothing of it was written and each of its
//! calls is applied again alone, so one call's fault is never another's answer.

use crate::{chunks, pg, pooled};
use deadpool_postgres::Pool;
use domain::Outcome;
use std::sync::Arc;
use store::StoreError;
use store::chunk::{Needs, single_outcome};
use store::singles::{SingleCall, merge};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// How many calls one transaction takes at most.
const MAX_GROUP: usize = 64;

/// Groups in flight at once (each holds one pooled connection).
const COMMITTERS: usize = 4;

/// Calls queued beyond these wait to be queued.
const QUEUE: usize = 4096;

type Answer = oneshot::Sender<Result<Outcome, StoreError>>;

/// The queue of single calls and the committers behind it.
pub(crate) struct Singles {
    queue: mpsc::Sender<(SingleCall, Answer)>,
}

impl Singles {
    /// Starts the dispatcher; it ends when the last handle is dropped.
    pub(crate) fn start(pool: Pool) -> Singles {
        let (queue, calls) = mpsc::channel(QUEUE);
        tokio::spawn(dispatch(pool, calls));
        Singles { queue }
    }

    /// Applies `call` in the next group; answers once that group is committed.
    pub(crate) async fn apply(&self, call: SingleCall) -> Result<Outcome, StoreError> {
        let stopped = || StoreError::Conflict("the single-call committer has stopped".into());
        let (answer, answered) = oneshot::channel();
        self.queue
            .send((call, answer))
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn dispatch(pool: Pool, mut calls: mpsc::Receiver<(SingleCall, Answer)>) {
    let committers = Arc::new(Semaphore::new(COMMITTERS));
    while let Some(first) = calls.recv().await {
        let Ok(permit) = committers.clone().acquire_owned().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match calls.try_recv() {
                Ok(call) => group.push(call),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            commit(&pool, group).await;
            drop(permit);
        });
    }
}

async fn commit(pool: &Pool, group: Vec<(SingleCall, Answer)>) {
    let (calls, answers): (Vec<SingleCall>, Vec<Answer>) = group.into_iter().unzip();
    let mut client = match pool.get().await {
        Ok(c) => c,
        Err(e) => {
            let e = pooled(e);
            for answer in answers {
                let _ = answer.send(Err(copy(&e)));
            }
            return;
        }
    };
    let fallback = (calls.len() > 1).then(|| calls.clone());
    match together(&mut client, calls).await {
        Ok(outcomes) => {
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                let _ = answer.send(outcome);
            }
        }
        Err(e) => match fallback {
            None => {
                for answer in answers {
                    let _ = answer.send(Err(copy(&e)));
                }
            }
            Some(calls) => {
                tracing::debug!(error = %e, calls = calls.len(), "a group of single calls failed; applying them one by one");
                for (answer, call) in answers.into_iter().zip(calls) {
                    let alone =
                        chunks::apply_single(&mut client, call.tenant, call.items, call.now).await;
                    let _ = answer.send(alone);
                }
            }
        },
    }
}

/// The group in one transaction: each call's outcome, in order, once committed.
async fn together(
    client: &mut deadpool_postgres::Client,
    calls: Vec<SingleCall>,
) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
    let mut per_call: Vec<Vec<Outcome>> = vec![Vec::new(); calls.len()];
    let merged = merge(calls);
    let tx = client.transaction().await.map_err(pg)?;
    let keys: Vec<String> = merged
        .iter()
        .flat_map(|m| {
            let needs = Needs::of(&m.items);
            chunks::lock_names(m.tenant, &needs.customer_keys(), &needs.transaction_ids)
        })
        .collect();
    chunks::lock(&tx, &keys).await?;
    for mut m in merged {
        let items = std::mem::replace(&mut m.items, domain::ChunkItems::Ledger(Vec::new()));
        let mut effects = chunks::load_and_apply_locked(&tx, m.tenant, items, m.now, None).await?;
        m.restore_indexes(&mut effects);
        chunks::write_effects(&tx, m.tenant, &effects, None, m.now).await?;
        for (call, outcome) in m.split(effects.outcomes) {
            if let Some(outcomes) = per_call.get_mut(call) {
                outcomes.push(outcome);
            }
        }
    }
    tx.commit().await.map_err(pg)?;
    Ok(per_call.into_iter().map(single_outcome).collect())
}

/// The same error for another caller of the group (the pool refused them all).
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
        StoreError::TimedOut => StoreError::TimedOut,
        StoreError::Panicked(why) => StoreError::Panicked(why.clone()),
        other => StoreError::other(std::io::Error::other(other.to_string())),
    }
}
