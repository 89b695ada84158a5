//! Single calls grouped into shared transactions ([`store::singles`]): the
//! group's keys are locked in one statement (ascending, the order every
//! transaction agrees on), then the calls of each tenant and kind are applied
//! as one chunk.

use crate::{chunks, pg, pooled};
use async_trait::async_trait;
use deadpool_postgres::Pool;
use domain::{ChunkItems, Outcome};
use store::StoreError;
use store::chunk::Needs;
use store::singles::{GroupCommit, SingleCall, merge, per_call};

/// Groups in flight at once (each holds one pooled connection).
pub(crate) const IN_FLIGHT: usize = 4;

/// How many calls one transaction takes at most.
pub(crate) const GROUP: usize = 64;

pub(crate) struct Groups(pub(crate) Pool);

#[async_trait]
impl GroupCommit for Groups {
    async fn together(
        &self,
        calls: Vec<SingleCall>,
    ) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
        let mut client = self.0.get().await.map_err(pooled)?;
        let n = calls.len();
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
        let mut applied = Vec::with_capacity(merged.len());
        for mut m in merged {
            let items = std::mem::replace(&mut m.items, ChunkItems::Ledger(Vec::new()));
            let mut effects =
                chunks::load_and_apply_locked(&tx, m.tenant, items, m.now, None).await?;
            m.restore_indexes(&mut effects);
            chunks::write_effects(&tx, m.tenant, &effects, None, m.now).await?;
            applied.push((m, effects.outcomes));
        }
        tx.commit().await.map_err(pg)?;
        Ok(per_call(n, applied))
    }

    async fn alone(&self, call: SingleCall) -> Result<Outcome, StoreError> {
        let mut client = self.0.get().await.map_err(pooled)?;
        chunks::apply_single(&mut client, call.tenant, call.items, call.now).await
    }
}
