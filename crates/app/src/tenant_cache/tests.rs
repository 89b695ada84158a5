use super::*;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

/// A tenant store in memory that counts its reads and can stop answering.
#[derive(Default)]
struct Fake {
    generation: AtomicI64,
    secret: Mutex<String>,
    down: AtomicBool,
    tenant_reads: AtomicUsize,
    settings_reads: AtomicUsize,
    generation_reads: AtomicUsize,
}

impl Fake {
    fn check(&self) -> Result<(), StoreError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(StoreError::Unavailable("down".into())),
            false => Ok(()),
        }
    }

    /// Another process changes the tenant: the store's generation moves.
    fn rotate_elsewhere(&self, secret: &str) {
        *self.secret.lock().unwrap() = secret.to_owned();
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Reachable for Fake {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check()
    }
    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        unimplemented!("not read by the cache")
    }
}

#[async_trait]
impl TenantStore for Fake {
    async fn create_tenant(
        &self,
        _: NewTenant,
        _: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        unimplemented!("not cached")
    }
    async fn create_first_tenant(
        &self,
        _: NewTenant,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        unimplemented!("not cached")
    }
    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        unimplemented!("not cached")
    }
    async fn rotate_secret(&self, _: &str, secret_hash: String) -> Result<(), StoreError> {
        self.rotate_elsewhere(&secret_hash);
        Ok(())
    }
    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        self.check()?;
        self.tenant_reads.fetch_add(1, Ordering::SeqCst);
        Ok((apikey == "known").then(|| TenantAuth {
            id: 1,
            name: "t".into(),
            secret_hash: self.secret.lock().unwrap().clone(),
            high_security: true,
        }))
    }
    async fn config_generation(&self) -> Result<i64, StoreError> {
        self.check()?;
        self.generation_reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.generation.load(Ordering::SeqCst))
    }
    async fn program_settings(&self, _: TenantId) -> Result<ProgramSettings, StoreError> {
        self.check()?;
        self.settings_reads.fetch_add(1, Ordering::SeqCst);
        Ok(ProgramSettings::default())
    }
    async fn tenant_settings(&self, _: &str) -> Result<ProgramSettings, StoreError> {
        unimplemented!("not cached")
    }
    async fn end_session(&self, _: &str, _: i64) -> Result<(), StoreError> {
        unimplemented!("not cached")
    }
    async fn session_ended(&self, _: &str) -> Result<bool, StoreError> {
        unimplemented!("not cached")
    }
    async fn set_tenant_settings(&self, _: &str, _: ProgramSettings) -> Result<(), StoreError> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn cached() -> (Arc<Fake>, CachedTenants) {
    let fake = Arc::new(Fake::default());
    *fake.secret.lock().unwrap() = "one".into();
    let cache = CachedTenants::new(fake.clone());
    (fake, cache)
}

async fn secret(cache: &CachedTenants) -> String {
    cache
        .tenant_by_apikey("known")
        .await
        .unwrap()
        .unwrap()
        .secret_hash
}

#[tokio::test(start_paused = true)]
async fn repeated_reads_are_served_from_the_cache() {
    let (fake, cache) = cached();
    for _ in 0..100 {
        assert_eq!(secret(&cache).await, "one");
        cache.program_settings(1).await.unwrap();
    }
    assert_eq!(fake.tenant_reads.load(Ordering::SeqCst), 1);
    assert_eq!(fake.settings_reads.load(Ordering::SeqCst), 1);
    assert_eq!(
        fake.generation_reads.load(Ordering::SeqCst),
        1,
        "confirmed once per REFRESH"
    );
    // Unknown apikeys are read every time (never cached).
    for _ in 0..3 {
        assert!(cache.tenant_by_apikey("unknown").await.unwrap().is_none());
    }
    assert_eq!(fake.tenant_reads.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_change_elsewhere_is_seen_once_the_refresh_is_due() {
    let (fake, cache) = cached();
    assert_eq!(secret(&cache).await, "one");
    fake.rotate_elsewhere("two");
    // Until the next confirmation is due the copy is served...
    tokio::time::advance(REFRESH / 2).await;
    assert_eq!(secret(&cache).await, "one");
    // ...then the generation is read, has moved, and the tenant is read again.
    tokio::time::advance(REFRESH / 2).await;
    assert_eq!(secret(&cache).await, "two");
    assert_eq!(fake.tenant_reads.load(Ordering::SeqCst), 2);
    assert_eq!(secret(&cache).await, "two");
    assert_eq!(fake.tenant_reads.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_change_made_on_this_node_is_seen_at_once() {
    let (fake, cache) = cached();
    assert_eq!(secret(&cache).await, "one");
    cache.rotate_secret("t", "three".into()).await.unwrap();
    assert_eq!(secret(&cache).await, "three");
    cache.program_settings(1).await.unwrap();
    cache
        .set_tenant_settings("t", ProgramSettings::default())
        .await
        .unwrap();
    cache.program_settings(1).await.unwrap();
    assert_eq!(fake.settings_reads.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn copies_are_not_served_past_the_bound_when_the_store_cannot_confirm_them() {
    let (fake, cache) = cached();
    assert_eq!(secret(&cache).await, "one");
    fake.down.store(true, Ordering::SeqCst);
    tokio::time::advance(REFRESH).await;
    // Unconfirmed but younger than the bound: served.
    assert_eq!(secret(&cache).await, "one");
    tokio::time::advance(STALE_AFTER).await;
    // Older: the call goes to the store (which is down) rather than trust it.
    assert!(cache.tenant_by_apikey("known").await.is_err());
    fake.down.store(false, Ordering::SeqCst);
    assert_eq!(secret(&cache).await, "one");
}

#[tokio::test(start_paused = true)]
async fn a_read_that_straddles_a_change_is_not_kept() {
    let (fake, cache) = cached();
    let generation = cache.usable().await;
    // The store changes and this node learns of it between a read and its keeping.
    fake.rotate_elsewhere("two");
    tokio::time::advance(REFRESH).await;
    cache.usable().await;
    cache.keep(generation, |c| {
        c.tenants.insert(
            "known".into(),
            TenantAuth {
                id: 1,
                name: "t".into(),
                secret_hash: "one".into(),
                high_security: true,
            },
        );
    });
    assert_eq!(secret(&cache).await, "two");
}
