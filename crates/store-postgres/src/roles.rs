//! The store's roles (the traits each part of the application holds), each
//! method one call into the module that has its SQL.

use crate::{
    PROBE_WAIT, PostgresStore, chunks, failed, jobs, pg, pooled, tenants, transactions, webhooks,
};
use async_trait::async_trait;
use domain::settings::ProgramSettings;
use domain::{ChunkItems, Outcome};
use std::time::Duration;
use store::*;
use time::OffsetDateTime;

#[async_trait]
impl Reachable for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let probe = self.probe.get().await.map_err(pooled)?;
        tokio::time::timeout(PROBE_WAIT, probe.execute("SELECT 1", &[]))
            .await
            .map_err(|_| StoreError::Unavailable("the database did not answer in time".into()))?
            .map_err(pg)?;
        if self.storage_full() {
            return Err(StoreError::StorageFull);
        }
        Ok(())
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        let status = self.pool.status();
        let pool = PoolGauges {
            in_use: status.size.saturating_sub(status.available) as u64,
            idle: status.available as u64,
            max: status.max_size as u64,
        };
        let queued: i64 = self
            .client()
            .await?
            .query_one(store::rows::QUEUED_ITEMS, &[])
            .await
            .map_err(pg)?
            .get(0);
        Ok(StoreGauges {
            queued_items: u64::try_from(queued).unwrap_or(0),
            pool: Some(pool),
            writer_queue: None,
        })
    }
}

#[async_trait]
impl TenantStore for PostgresStore {
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        tenants::create(&self.client().await?, &tenant, now).await
    }

    async fn create_first_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        tenants::create_first(&mut self.client().await?, &tenant, now).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        tenants::list(&self.client().await?).await
    }

    async fn rotate_secret(&self, name: &str, secret_hash: String) -> Result<(), StoreError> {
        tenants::rotate_secret(&self.client().await?, name, &secret_hash).await
    }

    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        tenants::by_apikey(&self.client().await?, apikey).await
    }

    async fn config_generation(&self) -> Result<i64, StoreError> {
        tenants::config_generation(&self.client().await?).await
    }

    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
        tenants::settings(&self.client().await?, tenant).await
    }

    async fn end_session(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        tenants::end_session(&self.client().await?, nonce, expires_at).await
    }

    async fn session_ended(&self, nonce: &str) -> Result<bool, StoreError> {
        tenants::session_ended(&self.client().await?, nonce).await
    }

    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError> {
        tenants::settings_by_name(&self.client().await?, name).await
    }

    async fn set_tenant_settings(
        &self,
        name: &str,
        settings: ProgramSettings,
    ) -> Result<(), StoreError> {
        tenants::set_settings(&self.client().await?, name, &settings).await
    }
}

#[async_trait]
impl JobStore for PostgresStore {
    async fn create_job(&self, job: NewJob) -> Result<JobCreation, StoreError> {
        let created = jobs::create(&mut self.client().await?, &job).await;
        self.noted(created, false)
    }

    async fn job(&self, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError> {
        jobs::get(&self.client().await?, tenant, job).await
    }

    async fn jobs_by_id(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
        jobs::by_id(&self.client().await?, jobs).await
    }

    async fn job_with_results(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
        jobs::get_with_results(&mut self.client().await?, tenant, job).await
    }

    async fn list_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> Result<Vec<JobRecord>, StoreError> {
        jobs::list(&self.client().await?, tenant, filter).await
    }

    async fn stop_job(
        &self,
        tenant: TenantId,
        job: JobId,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<StopOutcome, StoreError> {
        jobs::stop(&mut self.client().await?, tenant, job, now, retention).await
    }

    async fn retry_failed(
        &self,
        tenant: TenantId,
        job: JobId,
        queue_limit: u64,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, StoreError> {
        failed::retry_failed(&mut self.client().await?, tenant, job, queue_limit, now).await
    }

    async fn failed_items(
        &self,
        tenant: TenantId,
        job: JobId,
        range: std::ops::Range<u32>,
    ) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
        failed::failed_items(&mut self.client().await?, tenant, job, range).await
    }

    async fn throughput(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        jobs::throughput(&self.client().await?, tenant, since).await
    }
}

#[async_trait]
impl EngineStore for PostgresStore {
    fn job_wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.wakeups.clone())
    }

    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        jobs::claim(&mut self.client().await?, now, lease).await
    }

    async fn renew_lease(&self, fence: Fence, until: OffsetDateTime) -> Result<bool, StoreError> {
        jobs::renew_lease(&self.client().await?, fence, until).await
    }

    async fn release_job(&self, fence: Fence) -> Result<(), StoreError> {
        jobs::release(&self.client().await?, fence).await
    }

    async fn fail_job(
        &self,
        fence: Fence,
        reason: &str,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        jobs::fail(&mut self.client().await?, fence, reason, now, retention).await
    }

    async fn load_items(
        &self,
        job: JobId,
        from: u32,
        count: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        jobs::load_items(&self.client().await?, job, from, count).await
    }

    #[tracing::instrument(name = "store", skip_all, fields(job.id = fence.job_id, chunk.first_index = work.from))]
    async fn apply_chunk(
        &self,
        fence: Fence,
        work: ChunkWork,
    ) -> Result<ChunkCommitted, StoreError> {
        let applied = chunks::apply_chunk(&mut self.client().await?, fence, work).await;
        self.noted(applied, true)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        jobs::purge_expired(&self.client().await?, now).await
    }
}

#[async_trait]
impl CustomerStore for PostgresStore {
    async fn apply_single(
        &self,
        tenant: TenantId,
        item: ChunkItems,
        now: OffsetDateTime,
    ) -> Result<Outcome, StoreError> {
        let call = store::singles::SingleCall {
            tenant,
            items: item,
            now,
        };
        let applied = self.singles.call(call).await;
        self.noted(applied, false)
    }

    async fn customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<CustomerView>, StoreError> {
        self.customers.call((tenant, customer_id.to_owned())).await
    }

    async fn hold(
        &self,
        tenant: TenantId,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<HoldRecord>, StoreError> {
        chunks::hold(&self.client().await?, tenant, reference, now).await
    }

    async fn movements(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Vec<MovementRow>, StoreError> {
        chunks::movements(&self.client().await?, tenant, customer_id).await
    }

    async fn list_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<Vec<ListedMovement>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.listing(&mut client).await?;
        let rows = transactions::list(&tx, tenant, filter).await?;
        tx.commit().await.map_err(pg)?;
        Ok(rows)
    }

    async fn count_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = self.listing(&mut client).await?;
        let n = transactions::count(&tx, tenant, filter).await?;
        tx.commit().await.map_err(pg)?;
        Ok(n)
    }

    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<bool, StoreError> {
        chunks::delete_customer(&mut self.client().await?, tenant, customer_id).await
    }
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_webhook(
        &self,
        tenant: TenantId,
        webhook: NewWebhook,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError> {
        webhooks::create(&mut self.client().await?, tenant, &webhook, max, now).await
    }

    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError> {
        webhooks::list(&self.client().await?, tenant).await
    }

    async fn delete_webhook(&self, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
        webhooks::delete(&self.client().await?, tenant, webhook).await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        webhook: i64,
        filter: DeliveryFilter,
    ) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
        webhooks::deliveries(&self.client().await?, tenant, webhook, filter).await
    }

    async fn retry_delivery(
        &self,
        tenant: TenantId,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        webhooks::retry(&self.client().await?, tenant, webhook, delivery, now).await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limits: ClaimLimits,
    ) -> Result<Vec<DeliveryClaim>, StoreError> {
        webhooks::claim(&self.client().await?, now, lease, limits).await
    }

    async fn record_attempts(
        &self,
        reports: Vec<AttemptReport>,
        backoff: domain::webhooks::EndpointBackoff,
    ) -> Result<(), StoreError> {
        if reports.is_empty() {
            return Ok(());
        }
        webhooks::record(&mut self.client().await?, &reports, backoff).await
    }
}

#[async_trait]
impl store::BackupStore for PostgresStore {
    async fn backup(&self, _to: &std::path::Path) -> Result<store::BackupContents, StoreError> {
        Err(StoreError::Unsupported(POSTGRES_BACKUPS.into()))
    }

    fn backups_offered(&self) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(POSTGRES_BACKUPS.into()))
    }
}

/// What `loyalbatch backup` answers on PostgreSQL.
pub const POSTGRES_BACKUPS: &str = "on PostgreSQL, back up with the database's own tools: \
     `pg_dump --format=custom --file=FILE DATABASE_URL` while loyalbatch runs (a consistent snapshot), \
     or a base backup with WAL archiving (pg_basebackup) for point-in-time recovery; restore with \
     `pg_restore --dbname=NEW_DATABASE_URL FILE` into an empty database and start loyalbatch on it";
