//! Customer reads that arrive together share one query ([`store::grouped`]):
//! a storefront's balance reads under load are a few statements and round
//! trips a moment, not one each. Each read still sees a committed state (the
//! query is one snapshot), and a customer is never cached.

use crate::{pooled, prepared};
use async_trait::async_trait;
use deadpool_postgres::Pool;
use store::grouped::{Grouped, all_failed};
use store::rows::{CURRENT_LEDGER, record_from};
use store::{CustomerView, StoreError, TenantId, from_millis};

/// Queries in flight at once (each holds one pooled connection).
pub(crate) const IN_FLIGHT: usize = 4;

/// Customers one query reads at most.
pub(crate) const GROUP: usize = 128;

pub(crate) struct Customers(pub(crate) Pool);

#[async_trait]
impl Grouped<(TenantId, String), Option<CustomerView>> for Customers {
    async fn run(
        &self,
        keys: Vec<(TenantId, String)>,
    ) -> Vec<Result<Option<CustomerView>, StoreError>> {
        let n = keys.len();
        match self.read(keys).await {
            Ok(views) => views.into_iter().map(Ok).collect(),
            Err(e) => all_failed(n, &e),
        }
    }
}

impl Customers {
    async fn read(
        &self,
        keys: Vec<(TenantId, String)>,
    ) -> Result<Vec<Option<CustomerView>>, StoreError> {
        let client = self.0.get().await.map_err(pooled)?;
        let (tenants, ids): (Vec<TenantId>, Vec<String>) = keys.into_iter().unzip();
        let rows = prepared::query(
            &client,
            &format!(
                "SELECT k.i, c.gameball_id, c.customer_id, c.profile, {CURRENT_LEDGER}, c.created_at, \
                 c.updated_at FROM UNNEST($1::BIGINT[], $2::TEXT[]) WITH ORDINALITY AS k(t, id, i) \
                 JOIN customers c ON c.tenant_id = k.t AND c.customer_id = k.id"
            ),
            &[&tenants, &ids],
        )
        .await?;
        let mut views: Vec<Option<CustomerView>> = (0..ids.len()).map(|_| None).collect();
        for r in &rows {
            let i: i64 = r.get(0);
            let view = CustomerView {
                record: record_from(r.get(1), r.get(2), r.get(3), r.get(4))?,
                created_at: from_millis(r.get(5)),
                updated_at: from_millis(r.get(6)),
            };
            if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| views.get_mut(i)) {
                *slot = Some(view);
            }
        }
        Ok(views)
    }
}
