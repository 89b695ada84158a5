//! Tenants and their program settings, cached on each node: every call reads
//! them (who is calling, how points are earned), and they change rarely. The
//! cache is checked against the store's configuration generation — a number
//! the database moves, by trigger in the same transaction, whenever a
//! tenant's name, keys or settings change, whichever process changes them.
//!
//! A node reads that number at most every [`REFRESH`] and drops its copies
//! when it moved; copies not confirmed within [`STALE_AFTER`] are not served
//! (the call reads the store), so a rotated secret or a changed setting
//! takes effect on every node within a second. Unknown apikeys are never
//! cached, nor is anything a balance depends on but the settings.

use async_trait::async_trait;
use domain::settings::ProgramSettings;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{
    NewTenant, Reachable, StoreError, StoreGauges, TenantAuth, TenantId, TenantStore, TenantSummary,
};
use time::OffsetDateTime;
use tokio::time::Instant;

/// How often a node asks whether the configuration moved.
pub const REFRESH: Duration = Duration::from_millis(250);
/// The oldest confirmation a cached copy is served on.
pub const STALE_AFTER: Duration = Duration::from_secs(1);
/// Copies kept at most of each kind (tenants are made by an operator; the
/// bound keeps a runaway count from growing the cache).
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
struct Copies {
    /// The generation the copies belong to (`None`: not known yet).
    generation: Option<i64>,
    /// When that generation was last confirmed by the store.
    confirmed: Option<Instant>,
    tenants: HashMap<String, TenantAuth>,
    settings: HashMap<TenantId, ProgramSettings>,
}

impl Copies {
    fn age(&self) -> Duration {
        self.confirmed.map_or(Duration::MAX, |t| t.elapsed())
    }

    fn forget(&mut self) {
        self.generation = None;
        self.confirmed = None;
        self.tenants.clear();
        self.settings.clear();
    }
}

/// The tenant store role with a node's cache in front of it.
pub struct CachedTenants {
    inner: Arc<dyn TenantStore>,
    copies: Mutex<Copies>,
    /// Held by the one call that asks the store for the generation.
    asking: tokio::sync::Mutex<()>,
}

impl CachedTenants {
    pub fn new(inner: Arc<dyn TenantStore>) -> CachedTenants {
        CachedTenants {
            inner,
            copies: Mutex::new(Copies::default()),
            asking: tokio::sync::Mutex::new(()),
        }
    }

    fn copies(&self) -> std::sync::MutexGuard<'_, Copies> {
        // A panic while holding it leaves plain maps: still usable.
        self.copies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The generation whose copies may be served now, asking the store when
    /// the last confirmation is older than [`REFRESH`]; `None` when the copies
    /// cannot be trusted (the store did not answer for [`STALE_AFTER`]).
    async fn usable(&self) -> Option<i64> {
        let (generation, age) = {
            let c = self.copies();
            (c.generation, c.age())
        };
        if age < REFRESH {
            return generation;
        }
        let trusted = |generation: Option<i64>| generation.filter(|_| age < STALE_AFTER);
        // One call asks; the others serve what they have while it is fresh enough.
        let Ok(_asking) = self.asking.try_lock() else {
            return trusted(generation);
        };
        match self.inner.config_generation().await {
            Ok(now) => {
                let mut c = self.copies();
                if c.generation != Some(now) {
                    c.forget();
                    c.generation = Some(now);
                }
                c.confirmed = Some(Instant::now());
                Some(now)
            }
            Err(e) => {
                tracing::debug!(error = %e, "configuration generation not read");
                trusted(generation)
            }
        }
    }

    /// Keeps `value` if the copies still belong to the generation it was read under.
    fn keep(&self, generation: Option<i64>, put: impl FnOnce(&mut Copies)) {
        let mut c = self.copies();
        if generation.is_some() && c.generation == generation {
            put(&mut c);
        }
    }

    /// This node changed a tenant: its own copies go at once (the others see
    /// the generation move).
    fn changed(&self) {
        self.copies().forget();
    }
}

#[async_trait]
impl Reachable for CachedTenants {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        self.inner.gauges().await
    }
}

#[async_trait]
impl TenantStore for CachedTenants {
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        self.inner.create_tenant(tenant, now).await
    }

    async fn create_first_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.create_first_tenant(tenant, now).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        self.inner.list_tenants().await
    }

    async fn rotate_secret(&self, name: &str, secret_hash: String) -> Result<(), StoreError> {
        let rotated = self.inner.rotate_secret(name, secret_hash).await;
        self.changed();
        rotated
    }

    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        let generation = self.usable().await;
        if generation.is_some() {
            let c = self.copies();
            if c.generation == generation
                && let Some(t) = c.tenants.get(apikey)
            {
                return Ok(Some(t.clone()));
            }
        }
        let tenant = self.inner.tenant_by_apikey(apikey).await?;
        if let Some(t) = &tenant {
            self.keep(generation, |c| {
                if c.tenants.len() < MAX_ENTRIES {
                    c.tenants.insert(apikey.to_owned(), t.clone());
                }
            });
        }
        Ok(tenant)
    }

    async fn config_generation(&self) -> Result<i64, StoreError> {
        self.inner.config_generation().await
    }

    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
        let generation = self.usable().await;
        if generation.is_some() {
            let c = self.copies();
            if c.generation == generation
                && let Some(s) = c.settings.get(&tenant)
            {
                return Ok(s.clone());
            }
        }
        let settings = self.inner.program_settings(tenant).await?;
        self.keep(generation, |c| {
            if c.settings.len() < MAX_ENTRIES {
                c.settings.insert(tenant, settings.clone());
            }
        });
        Ok(settings)
    }

    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError> {
        self.inner.tenant_settings(name).await
    }

    async fn end_session(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        self.inner.end_session(nonce, expires_at).await
    }

    async fn session_ended(&self, nonce: &str) -> Result<bool, StoreError> {
        self.inner.session_ended(nonce).await
    }

    async fn set_tenant_settings(
        &self,
        name: &str,
        settings: ProgramSettings,
    ) -> Result<(), StoreError> {
        let set = self.inner.set_tenant_settings(name, settings).await;
        self.changed();
        set
    }
}

#[cfg(test)]
mod tests;
