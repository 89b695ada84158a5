//! A per-tenant share of the database for listings (`GET /transactions`, its
//! count, a customer's history, the jobs list): one tenant's slow listings
//! wait for each other, never for everyone's connections. Beyond its share a
//! tenant's listing waits a bounded time, then is refused (429, `Retry-After`).

use crate::Error;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::TenantId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a refused listing's caller is told to wait.
const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub(crate) struct TenantGate {
    per_tenant: usize,
    wait: Duration,
    open: Arc<Mutex<HashMap<TenantId, Arc<Semaphore>>>>,
}

impl TenantGate {
    pub(crate) fn new(per_tenant: usize, wait: Duration) -> TenantGate {
        TenantGate {
            per_tenant: per_tenant.max(1),
            wait,
            open: Arc::default(),
        }
    }

    /// A place for one of `tenant`'s listings, held until the permit drops.
    pub(crate) async fn enter(&self, tenant: TenantId) -> Result<OwnedSemaphorePermit, Error> {
        let semaphore = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            // Tenants with nothing in flight are forgotten: the map stays as
            // small as the tenants listing right now.
            open.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < self.per_tenant);
            open.entry(tenant)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
                .clone()
        };
        match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Error::Busy {
                message: format!(
                    "this tenant already has {} listings running; retry later or narrow them (from, to, customerId)",
                    self.per_tenant
                ),
                retry_after: RETRY_AFTER,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_share_and_others_do_not() {
        let gate = TenantGate::new(2, Duration::from_millis(50));
        let a1 = gate.enter(1).await.unwrap();
        let _a2 = gate.enter(1).await.unwrap();
        let refused = gate.enter(1).await.unwrap_err();
        assert!(matches!(refused, Error::Busy { .. }), "{refused:?}");
        let _b = gate
            .enter(2)
            .await
            .expect("another tenant has its own share");
        drop(a1);
        assert!(gate.enter(1).await.is_ok(), "a freed place is taken");
    }
}
