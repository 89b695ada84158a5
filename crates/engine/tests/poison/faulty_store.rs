//! The store's roles for `Faulty`: each method passes to the real store,
//! except where the fault strikes (a chunk holding customer `poison`, or the
//! database down or busy for the first commits).

use super::*;

#[async_trait]
impl Reachable for Faulty {
    async fn ping(&self) -> Result<(), StoreError> {
        if self.down() {
            return Err(outage());
        }
        self.inner.ping().await
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        self.inner.gauges().await
    }
}

#[async_trait]
impl TenantStore for Faulty {
    async fn create_tenant(
        &self,
        t: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        self.inner.create_tenant(t, now).await
    }
    async fn create_first_tenant(
        &self,
        t: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.create_first_tenant(t, now).await
    }
    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        self.inner.list_tenants().await
    }
    async fn rotate_secret(&self, name: &str, hash: String) -> Result<(), StoreError> {
        self.inner.rotate_secret(name, hash).await
    }
    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        self.inner.tenant_by_apikey(apikey).await
    }
    async fn config_generation(&self) -> Result<i64, StoreError> {
        self.inner.config_generation().await
    }
    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
        self.inner.program_settings(tenant).await
    }
    async fn end_session(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        self.inner.end_session(nonce, expires_at).await
    }
    async fn session_ended(&self, nonce: &str) -> Result<bool, StoreError> {
        self.inner.session_ended(nonce).await
    }
    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError> {
        self.inner.tenant_settings(name).await
    }
    async fn set_tenant_settings(&self, name: &str, s: ProgramSettings) -> Result<(), StoreError> {
        self.inner.set_tenant_settings(name, s).await
    }
}

#[async_trait]
impl JobStore for Faulty {
    async fn create_job(&self, job: NewJob) -> Result<JobCreation, StoreError> {
        self.inner.create_job(job).await
    }
    async fn retry_failed(
        &self,
        tenant: TenantId,
        job: JobId,
        queue_limit: u64,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, StoreError> {
        self.inner.retry_failed(tenant, job, queue_limit, now).await
    }
    async fn throughput(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.inner.throughput(tenant, since).await
    }
    async fn failed_items(
        &self,
        tenant: TenantId,
        job: JobId,
        range: std::ops::Range<u32>,
    ) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
        self.inner.failed_items(tenant, job, range).await
    }
    async fn job(&self, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError> {
        self.inner.job(tenant, job).await
    }
    async fn jobs_by_id(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.jobs_by_id(jobs).await
    }
    async fn job_with_results(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
        self.inner.job_with_results(tenant, job).await
    }
    async fn list_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.list_jobs(tenant, filter).await
    }
    async fn stop_job(
        &self,
        tenant: TenantId,
        job: JobId,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<StopOutcome, StoreError> {
        self.inner.stop_job(tenant, job, now, retention).await
    }
}

#[async_trait]
impl EngineStore for Faulty {
    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        self.inner.claim_job(now, lease).await
    }
    async fn renew_lease(&self, fence: Fence, until: OffsetDateTime) -> Result<bool, StoreError> {
        self.inner.renew_lease(fence, until).await
    }
    async fn release_job(&self, fence: Fence) -> Result<(), StoreError> {
        self.inner.release_job(fence).await
    }
    async fn fail_job(
        &self,
        fence: Fence,
        reason: &str,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        self.inner.fail_job(fence, reason, now, retention).await
    }
    async fn load_items(
        &self,
        job: JobId,
        from: u32,
        count: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        self.inner.load_items(job, from, count).await
    }
    async fn apply_chunk(
        &self,
        fence: Fence,
        work: ChunkWork,
    ) -> Result<ChunkCommitted, StoreError> {
        let outage = self.down();
        let calls = self.calls.fetch_add(1, Ordering::SeqCst);
        if outage {
            return Err(self::outage());
        }
        if let Fault::Busy(n) = self.fault
            && calls < n
        {
            return Err(StoreError::Unavailable("no connection free in time".into()));
        }
        if poisoned(&work.items) {
            match self.fault {
                Fault::Panic => panic!("attempt to add with overflow"),
                Fault::Error => {
                    return Err(StoreError::other(std::io::Error::other(
                        "invalid byte sequence",
                    )));
                }
                Fault::Outage(_) | Fault::Busy(_) => {}
            }
        }
        self.inner.apply_chunk(fence, work).await
    }
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.purge_expired(now).await
    }
}

#[async_trait]
impl CustomerStore for Faulty {
    async fn apply_single(
        &self,
        tenant: TenantId,
        item: ChunkItems,
        now: OffsetDateTime,
    ) -> Result<Outcome, StoreError> {
        self.inner.apply_single(tenant, item, now).await
    }
    async fn customer(
        &self,
        tenant: TenantId,
        id: &str,
    ) -> Result<Option<CustomerView>, StoreError> {
        self.inner.customer(tenant, id).await
    }
    async fn hold(
        &self,
        tenant: TenantId,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<HoldRecord>, StoreError> {
        self.inner.hold(tenant, reference, now).await
    }
    async fn movements(&self, tenant: TenantId, id: &str) -> Result<Vec<MovementRow>, StoreError> {
        self.inner.movements(tenant, id).await
    }
    async fn list_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<Vec<ListedMovement>, StoreError> {
        self.inner.list_movements(tenant, filter).await
    }

    async fn count_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<u64, StoreError> {
        self.inner.count_movements(tenant, filter).await
    }

    async fn delete_customer(&self, tenant: TenantId, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_customer(tenant, id).await
    }
}

#[async_trait]
impl WebhookStore for Faulty {
    async fn create_webhook(
        &self,
        tenant: TenantId,
        webhook: NewWebhook,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError> {
        self.inner.create_webhook(tenant, webhook, max, now).await
    }
    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError> {
        self.inner.webhooks(tenant).await
    }
    async fn delete_webhook(&self, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
        self.inner.delete_webhook(tenant, webhook).await
    }
    async fn deliveries(
        &self,
        tenant: TenantId,
        webhook: i64,
        filter: DeliveryFilter,
    ) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
        self.inner.deliveries(tenant, webhook, filter).await
    }
    async fn retry_delivery(
        &self,
        tenant: TenantId,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.inner
            .retry_delivery(tenant, webhook, delivery, now)
            .await
    }
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limits: ClaimLimits,
    ) -> Result<Vec<DeliveryClaim>, StoreError> {
        self.inner.claim_deliveries(now, lease, limits).await
    }
    async fn record_attempts(
        &self,
        reports: Vec<AttemptReport>,
        backoff: domain::webhooks::EndpointBackoff,
    ) -> Result<(), StoreError> {
        self.inner.record_attempts(reports, backoff).await
    }
}

#[async_trait]
impl BackupStore for Faulty {
    async fn backup(&self, to: &std::path::Path) -> Result<store::BackupContents, StoreError> {
        self.inner.backup(to).await
    }
    fn backups_offered(&self) -> Result<(), StoreError> {
        self.inner.backups_offered()
    }
}
