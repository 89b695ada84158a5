//! The store's role traits on SQLite: each method one closure on the writer
//! (a durable transaction) or on a reader connection.

use crate::writer::Weight;
use crate::{SqliteStore, chunks, failed, jobs, sql_err, tenants, transactions, webhooks};
use async_trait::async_trait;
use domain::settings::ProgramSettings;
use domain::{ChunkItems, Outcome};
use std::time::Duration;
use store::*;
use time::OffsetDateTime;

#[async_trait]
impl Reachable for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(sql_err))
            .await?;
        if self.inner.writer.disk_full() {
            // A write failed for want of space: ready again once the
            // database's filesystem has room for a few chunks.
            if crate::checkpoints::free_bytes(&self.inner.path)
                .is_some_and(|free| free >= crate::ROOM_TO_RESUME)
            {
                self.inner.writer.room_again();
            } else {
                return Err(StoreError::StorageFull);
            }
        }
        Ok(())
    }

    async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        let queued: i64 = self
            .read(|c| {
                c.query_row(store::rows::QUEUED_ITEMS, [], |r| r.get(0))
                    .map_err(sql_err)
            })
            .await?;
        Ok(StoreGauges {
            queued_items: u64::try_from(queued).unwrap_or(0),
            pool: None,
            writer_queue: Some(self.inner.writer.queue_depth() as u64),
        })
    }
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError> {
        self.write(move |c| tenants::create(c, &tenant, now)).await
    }

    async fn create_first_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write(move |c| tenants::create_first(c, &tenant, now))
            .await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        self.read(tenants::list).await
    }

    async fn rotate_secret(&self, name: &str, secret_hash: String) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |c| tenants::rotate_secret(c, &name, &secret_hash))
            .await
    }

    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
        let apikey = apikey.to_owned();
        self.read_point(move |c| tenants::by_apikey(c, &apikey))
            .await
    }

    async fn config_generation(&self) -> Result<i64, StoreError> {
        self.read_point(tenants::config_generation).await
    }

    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
        self.read_point(move |c| tenants::settings(c, tenant)).await
    }

    async fn end_session(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
        let nonce = nonce.to_owned();
        self.write(move |c| tenants::end_session(c, &nonce, expires_at))
            .await
    }

    async fn session_ended(&self, nonce: &str) -> Result<bool, StoreError> {
        let nonce = nonce.to_owned();
        self.read_point(move |c| tenants::session_ended(c, &nonce))
            .await
    }

    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError> {
        let name = name.to_owned();
        self.read(move |c| tenants::settings_by_name(c, &name))
            .await
    }

    async fn set_tenant_settings(
        &self,
        name: &str,
        settings: ProgramSettings,
    ) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |c| tenants::set_settings(c, &name, &settings))
            .await
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: NewJob) -> Result<JobCreation, StoreError> {
        self.write(move |c| jobs::create(c, &job)).await
    }

    async fn job(&self, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError> {
        self.read_point(move |c| jobs::get(c, tenant, job)).await
    }

    async fn jobs_by_id(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
        let jobs = jobs.to_vec();
        self.read(move |c| jobs::by_id(c, &jobs)).await
    }

    async fn job_with_results(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
        self.read(move |c| jobs::get_with_results(c, tenant, job))
            .await
    }

    async fn list_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| jobs::list(c, tenant, &filter)).await
    }

    async fn stop_job(
        &self,
        tenant: TenantId,
        job: JobId,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<StopOutcome, StoreError> {
        self.write(move |c| jobs::stop(c, tenant, job, now, retention))
            .await
    }

    async fn retry_failed(
        &self,
        tenant: TenantId,
        job: JobId,
        queue_limit: u64,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, StoreError> {
        self.write(move |c| failed::retry_failed(c, tenant, job, queue_limit, now))
            .await
    }

    async fn failed_items(
        &self,
        tenant: TenantId,
        job: JobId,
        range: std::ops::Range<u32>,
    ) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
        self.read(move |c| failed::failed_items(c, tenant, job, range))
            .await
    }

    async fn throughput(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.read(move |c| jobs::throughput(c, tenant, since)).await
    }
}

#[async_trait]
impl EngineStore for SqliteStore {
    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        self.write(move |c| jobs::claim(c, now, lease)).await
    }

    async fn renew_lease(&self, fence: Fence, until: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(move |c| jobs::renew_lease(c, fence, until))
            .await
    }

    async fn release_job(&self, fence: Fence) -> Result<(), StoreError> {
        self.write(move |c| jobs::release(c, fence)).await
    }

    async fn fail_job(
        &self,
        fence: Fence,
        reason: &str,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        let reason = reason.to_owned();
        self.write(move |c| jobs::fail(c, fence, &reason, now, retention))
            .await
    }

    async fn load_items(
        &self,
        job: JobId,
        from: u32,
        count: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        self.read(move |c| jobs::load_items(c, job, from, count))
            .await
    }

    #[tracing::instrument(name = "store", skip_all, fields(job.id = fence.job_id, chunk.first_index = work.from))]
    async fn apply_chunk(
        &self,
        fence: Fence,
        work: ChunkWork,
    ) -> Result<ChunkCommitted, StoreError> {
        let (committed, spent) = self
            .inner
            .writer
            .write(Weight::Bulk, move |c| chunks::apply_chunk(c, fence, work))
            .await?;
        // The chunk's values are freed here, after the writer lock is released.
        drop(spent);
        Ok(committed)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.write(move |c| jobs::purge_expired(c, now)).await
    }
}

#[async_trait]
impl CustomerStore for SqliteStore {
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
        SqliteStore::apply_single(self, call).await
    }

    async fn customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<CustomerView>, StoreError> {
        let id = customer_id.to_owned();
        self.read_point(move |c| chunks::customer(c, tenant, &id))
            .await
    }

    async fn hold(
        &self,
        tenant: TenantId,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<HoldRecord>, StoreError> {
        let reference = reference.to_owned();
        self.read_point(move |c| chunks::hold(c, tenant, &reference, now))
            .await
    }

    async fn movements(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Vec<MovementRow>, StoreError> {
        let id = customer_id.to_owned();
        self.read(move |c| chunks::movements(c, tenant, &id)).await
    }

    async fn list_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<Vec<ListedMovement>, StoreError> {
        let filter = filter.clone();
        self.listing(move |c| transactions::list(c, tenant, &filter))
            .await
    }

    async fn count_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<u64, StoreError> {
        let filter = filter.clone();
        self.listing(move |c| transactions::count(c, tenant, &filter))
            .await
    }

    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<bool, StoreError> {
        let id = customer_id.to_owned();
        self.write(move |c| chunks::delete_customer(c, tenant, &id))
            .await
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        tenant: TenantId,
        webhook: NewWebhook,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError> {
        self.write(move |c| webhooks::create(c, tenant, &webhook, max, now))
            .await
    }

    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError> {
        self.read(move |c| webhooks::list(c, tenant)).await
    }

    async fn delete_webhook(&self, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
        self.write(move |c| webhooks::delete(c, tenant, webhook))
            .await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        webhook: i64,
        filter: DeliveryFilter,
    ) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
        self.read(move |c| webhooks::deliveries(c, tenant, webhook, filter))
            .await
    }

    async fn retry_delivery(
        &self,
        tenant: TenantId,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.write(move |c| webhooks::retry(c, tenant, webhook, delivery, now))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limits: ClaimLimits,
    ) -> Result<Vec<DeliveryClaim>, StoreError> {
        self.write(move |c| webhooks::claim(c, now, lease, limits))
            .await
    }

    async fn record_attempts(
        &self,
        reports: Vec<AttemptReport>,
        backoff: domain::webhooks::EndpointBackoff,
    ) -> Result<(), StoreError> {
        self.write(move |c| webhooks::record(c, &reports, backoff))
            .await
    }
}
