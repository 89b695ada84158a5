//! Per-tenant shares of a node. Of the database for listings (`GET
//! /transactions`, its count, a customer's history, the jobs list): one
//! tenant's slow listings wait for each other, never for everyone's
//! connections; beyond its share a tenant's listing waits a bounded time, then
//! is refused (429, `Retry-After`). And counts of what stays open long (event
//! streams, failed-items downloads), refused at once beyond the limit.

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

/// How many of something long-lived (event streams, downloads) each tenant
/// has open: at most `per_tenant`, so one tenant cannot take the node's
/// connections or memory.
#[derive(Clone)]
pub(crate) struct TenantCount {
    per_tenant: usize,
    /// What is counted, for the refusal: "event streams open", …
    what: &'static str,
    /// What to do instead, for the refusal.
    instead: &'static str,
    open: Arc<Mutex<HashMap<TenantId, usize>>>,
}

/// One open stream or download of a tenant's; the count goes down when it drops.
pub struct Place {
    tenant: TenantId,
    open: Arc<Mutex<HashMap<TenantId, usize>>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.tenant);
            }
        }
    }
}

impl TenantCount {
    pub(crate) fn new(per_tenant: usize, what: &'static str, instead: &'static str) -> TenantCount {
        TenantCount {
            per_tenant: per_tenant.max(1),
            what,
            instead,
            open: Arc::default(),
        }
    }

    /// A place for one more of `tenant`'s, or a 429 at its limit.
    pub(crate) fn open(&self, tenant: TenantId) -> Result<Place, Error> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(tenant).or_insert(0);
        if *n >= self.per_tenant {
            return Err(Error::Busy {
                message: format!(
                    "this tenant already has {} {}; {}",
                    self.per_tenant, self.what, self.instead
                ),
                retry_after: RETRY_AFTER,
            });
        }
        *n += 1;
        Ok(Place {
            tenant,
            open: self.open.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_streams_are_counted_and_given_back() {
        let streams = TenantCount::new(2, "event streams open", "close one");
        let a1 = streams.open(1).unwrap();
        let _a2 = streams.open(1).unwrap();
        let Err(Error::Busy { message, .. }) = streams.open(1) else {
            panic!("a third stream is refused");
        };
        assert_eq!(
            message,
            "this tenant already has 2 event streams open; close one"
        );
        let _b = streams.open(2).expect("another tenant counts apart");
        drop(a1);
        assert!(streams.open(1).is_ok());
    }

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
