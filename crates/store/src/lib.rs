//! The store seam: the one trait every backend implements (bulk load + bulk commit per chunk, fenced by a lease token).
#![forbid(unsafe_code)]

pub mod backups;
pub mod chunk;
pub mod ending;
pub mod grouped;
mod holds;
pub mod retry;
pub mod rows;
pub mod rules;
mod segments;
pub mod singles;
mod types;
mod views;
pub mod webhooks;

pub use backups::{BackupContents, BackupStore};
pub use holds::{HoldRecord, HoldState, MovementRow, hold_record};
pub use retry::{FailedItem, RetryOutcome};
pub use segments::{SEGMENT_ITEMS, Segment, segment_items, slice_segments};
pub use types::*;
pub use webhooks::{
    AttemptReport, AttemptResult, ClaimLimits, DeliveryClaim, DeliveryFilter, DeliveryRecord,
    NewWebhook, WebhookRecord,
};

/// The store's role traits, for calling them on a `dyn Store`: `use store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        BackupStore, CustomerStore, EngineStore, JobStore, Reachable, Store, TenantStore,
        WebhookStore,
    };
}

use async_trait::async_trait;
use domain::settings::ProgramSettings;
use domain::{ChunkItems, Outcome};
use std::time::Duration;
use time::OffsetDateTime;

/// Everything loyalbatch keeps, in four roles: tenants and their settings (the
/// admin CLI, auth), jobs as the API sees them (intake, status, stop, list),
/// the engine's work (claims, leases, chunks, purge), and customers with their
/// ledgers (single calls, reads). Implemented by `store-sqlite` and
/// `store-postgres`; each user holds the narrowest role it needs.
pub trait Store:
    TenantStore + JobStore + EngineStore + CustomerStore + WebhookStore + BackupStore
{
}

impl<T: TenantStore + JobStore + EngineStore + CustomerStore + WebhookStore + BackupStore> Store
    for T
{
}

/// The database answers (health checks, and the engine telling an outage from a bad item).
#[async_trait]
pub trait Reachable: Send + Sync + 'static {
    async fn ping(&self) -> Result<(), StoreError>;
    /// What the metrics show of the store at a scrape.
    async fn gauges(&self) -> Result<StoreGauges, StoreError>;
}

/// Tenants, their keys and their program settings.
#[async_trait]
pub trait TenantStore: Reachable {
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<TenantSummary, StoreError>;
    /// Creates `tenant` only when no tenant exists at all; `true` when it did.
    async fn create_first_tenant(
        &self,
        tenant: NewTenant,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError>;
    /// `NotFound` when no tenant has that name.
    async fn rotate_secret(&self, name: &str, secret_hash: String) -> Result<(), StoreError>;
    async fn tenant_by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, StoreError>;
    /// A number that moves (in the same transaction) whenever any tenant's
    /// name, keys or settings change, whichever process changes them: what a
    /// node's cache of tenants and settings is checked against.
    async fn config_generation(&self) -> Result<i64, StoreError>;
    /// The program settings of a tenant (SPEC §6).
    async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, StoreError>;
    /// `NotFound` when no tenant has that name.
    async fn tenant_settings(&self, name: &str) -> Result<ProgramSettings, StoreError>;
    /// Ends a console session (by its nonce) on every node until `expires_at`
    /// (milliseconds), when it would have expired anyway.
    async fn end_session(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Whether a console session was ended.
    async fn session_ended(&self, nonce: &str) -> Result<bool, StoreError>;
    /// Replaces a tenant's settings (already validated); `NotFound` when unknown.
    async fn set_tenant_settings(
        &self,
        name: &str,
        settings: ProgramSettings,
    ) -> Result<(), StoreError>;
}

/// Jobs as the API sees them: intake, reads, stop.
#[async_trait]
pub trait JobStore: Reachable {
    /// Stores the job and all its items durably before returning.
    async fn create_job(&self, job: NewJob) -> Result<JobCreation, StoreError>;
    async fn job(&self, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError>;
    /// Those of `jobs` that exist, each only under its own tenant, in one read
    /// (a node's event streams follow all their jobs with it).
    async fn jobs_by_id(&self, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError>;
    /// The job and its results, read at one instant (counts match the arrays).
    async fn job_with_results(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError>;
    async fn list_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> Result<Vec<JobRecord>, StoreError>;
    /// Creates a job of a finished job's failed items (their original texts, in
    /// index order), once per job: asked again, answers that job (`Existing`).
    async fn retry_failed(
        &self,
        tenant: TenantId,
        job: JobId,
        queue_limit: u64,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, StoreError>;
    /// A job's failed entries with an index in `range`, in index order, each
    /// with its item's original text (`None` where it is no longer kept), read
    /// in one snapshot; `None` for an unknown job. A caller reads a large job
    /// range by range, holding one range's texts at a time.
    async fn failed_items(
        &self,
        tenant: TenantId,
        job: JobId,
        range: std::ops::Range<u32>,
    ) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError>;
    /// Items the tenant's chunks processed per minute since `since`: (the
    /// minute's start in milliseconds, items), minutes with none left out.
    async fn throughput(
        &self,
        tenant: TenantId,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, u64)>, StoreError>;
    /// Once this returns `Stopped`, no further item of the job takes effect.
    async fn stop_job(
        &self,
        tenant: TenantId,
        job: JobId,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<StopOutcome, StoreError>;
}

/// The engine's work: claims under a lease, chunks, failure, purge.
///
/// Chunk processing is one call (`apply_chunk`) so that loading the state, running
/// the pure domain rules and writing the effects happen in one transaction, with
/// the rows the chunk reads locked until it commits.
#[async_trait]
pub trait EngineStore: Reachable {
    /// Notified when any process creates a job (PostgreSQL `LISTEN/NOTIFY`);
    /// `None` where the engine's own in-process wake-up is all there is.
    fn job_wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }

    /// Claims the next runnable job (queued, or running with a lapsed lease), fairly
    /// across tenants, issuing a new fencing token.
    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError>;
    /// `false` when the fence no longer holds (stopped, or taken over).
    async fn renew_lease(&self, fence: Fence, until: OffsetDateTime) -> Result<bool, StoreError>;
    /// Gives the job back so any worker may claim it at once (clean shutdown).
    async fn release_job(&self, fence: Fence) -> Result<(), StoreError>;
    /// Ends a job that cannot run (`failed`, with `reason` as its `error`); its
    /// unprocessed items are dropped. `false` when the fence no longer holds.
    async fn fail_job(
        &self,
        fence: Fence,
        reason: &str,
        now: OffsetDateTime,
        retention: Duration,
    ) -> Result<bool, StoreError>;
    /// Raw item texts `[from, from + count)` of a job, with their indexes.
    async fn load_items(
        &self,
        job: JobId,
        from: u32,
        count: u32,
    ) -> Result<Vec<(u32, String)>, StoreError>;
    /// One transaction: check the fence and cursor, load the chunk's state, apply
    /// the domain rules, write effects + results + cursor (+ the final state).
    /// `Fenced` when the lease token, the job state or the cursor changed.
    async fn apply_chunk(
        &self,
        fence: Fence,
        work: ChunkWork,
    ) -> Result<ChunkCommitted, StoreError>;
    /// Deletes jobs (and their items and results) whose `expires_at` passed.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Customers and their ledgers: single calls and reads.
#[async_trait]
pub trait CustomerStore: Reachable {
    /// Applies one item outside any job, in one transaction, durably.
    async fn apply_single(
        &self,
        tenant: TenantId,
        item: ChunkItems,
        now: OffsetDateTime,
    ) -> Result<Outcome, StoreError>;
    async fn customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<CustomerView>, StoreError>;
    /// A hold by its reference, in its state at `now`.
    async fn hold(
        &self,
        tenant: TenantId,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<Option<HoldRecord>, StoreError>;
    /// Every movement of a customer's points, oldest first (the audit trail the
    /// ledger can be rebuilt from); empty when the customer is unknown.
    async fn movements(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Vec<MovementRow>, StoreError>;
    /// A page of the tenant's movements matching `filter`, by ascending id
    /// (`GET /transactions`); a filter naming an unknown customer matches none.
    async fn list_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<Vec<ListedMovement>, StoreError>;
    /// How many of the tenant's movements match `filter` (its `after` and `limit` ignored).
    async fn count_movements(
        &self,
        tenant: TenantId,
        filter: &MovementFilter,
    ) -> Result<u64, StoreError>;
    /// Deletes the profile and everything recorded for it; `false` when unknown.
    async fn delete_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<bool, StoreError>;
}

/// Webhook endpoints and their deliveries. A job's end writes its deliveries
/// (one per endpoint subscribed to its event) in the transaction that ends it;
/// a delivery worker on any node claims due ones under a lease.
#[async_trait]
pub trait WebhookStore: Reachable {
    /// `Conflict` when the tenant already has `max` endpoints.
    async fn create_webhook(
        &self,
        tenant: TenantId,
        webhook: NewWebhook,
        max: usize,
        now: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError>;
    /// The tenant's endpoints, oldest first.
    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError>;
    /// Removes an endpoint and its deliveries; `false` when the tenant has no such endpoint.
    async fn delete_webhook(&self, tenant: TenantId, webhook: i64) -> Result<bool, StoreError>;
    /// A page of an endpoint's deliveries, newest first; `None` when the tenant has no such endpoint.
    async fn deliveries(
        &self,
        tenant: TenantId,
        webhook: i64,
        filter: DeliveryFilter,
    ) -> Result<Option<Vec<DeliveryRecord>>, StoreError>;
    /// Makes a delivery due now (whatever its state); `None` when unknown.
    async fn retry_delivery(
        &self,
        tenant: TenantId,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError>;
    /// Claims due deliveries (any tenant, endpoints not paused) until
    /// `now + lease`, each with a new token, within `limits`, taking turns
    /// between tenants: each tenant's oldest before any tenant's second.
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limits: ClaimLimits,
    ) -> Result<Vec<DeliveryClaim>, StoreError>;
    /// Records attempts in one transaction; a report whose token no longer
    /// holds (the lease lapsed and another node claimed it) is ignored. An
    /// endpoint's failures in a row are counted (a success clears them) and it
    /// is paused as `backoff` says.
    async fn record_attempts(
        &self,
        reports: Vec<AttemptReport>,
        backoff: domain::webhooks::EndpointBackoff,
    ) -> Result<(), StoreError>;
}
