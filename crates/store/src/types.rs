//! Values that cross the store seam.

use crate::segments::Segment;
use domain::{ChunkItems, CustomerRecord};
use std::time::Duration;
use thiserror::Error;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

pub type TenantId = i64;
pub type JobId = i64;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The lease token, job state or cursor changed: this worker must not commit.
    #[error("the job's lease or state changed")]
    Fenced,
    #[error("idempotency key reused with another body")]
    IdempotencyConflict,
    #[error("the tenant's queue holds {unprocessed} unprocessed items (limit {limit})")]
    QueueFull { unprocessed: u64, limit: u64 },
    /// The database cannot take more now (no pooled connection free in time,
    /// the server at its connection limit, unreachable): nothing was done, and
    /// the same operation may pass in a moment.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A read ran past its time limit and was cancelled (a listing over too
    /// many rows): the same read would again.
    #[error("the read took longer than its time limit")]
    TimedOut,
    /// The operation panicked (a bug, or input no rule foresaw); what it wrote was
    /// rolled back. Deterministic: running it again panics again.
    #[error("the operation panicked: {0}")]
    Panicked(String),
    /// The database's disk (or tablespace) is full: nothing of the operation was
    /// written, and it may pass once space is freed. Writes wait; no item fails.
    #[error("the database's disk is full")]
    StorageFull,
    /// This backend does not offer the operation; the text says what to use instead.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Other(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// The same error for another caller who shared the failed operation
    /// (a group of requests): its kind kept, an internal one as its text.
    pub fn copy_for_another_caller(&self) -> StoreError {
        match self {
            StoreError::NotFound => StoreError::NotFound,
            StoreError::Conflict(why) => StoreError::Conflict(why.clone()),
            StoreError::Fenced => StoreError::Fenced,
            StoreError::IdempotencyConflict => StoreError::IdempotencyConflict,
            StoreError::QueueFull { unprocessed, limit } => StoreError::QueueFull {
                unprocessed: *unprocessed,
                limit: *limit,
            },
            StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
            StoreError::TimedOut => StoreError::TimedOut,
            StoreError::Panicked(why) => StoreError::Panicked(why.clone()),
            StoreError::Unsupported(why) => StoreError::Unsupported(why.clone()),
            StoreError::StorageFull => StoreError::StorageFull,
            StoreError::Other(e) => StoreError::other(std::io::Error::other(e.to_string())),
        }
    }

    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Other(Box::new(e))
    }

    /// The error a caught panic becomes, with its message when it has one.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> StoreError {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        StoreError::Panicked(message)
    }
}

/// A tenant to create; the secret arrives hashed.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub apikey: String,
    pub secret_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSummary {
    pub id: TenantId,
    pub name: String,
    pub apikey: String,
    pub created_at: OffsetDateTime,
}

/// What authentication needs to know about the tenant an apikey names.
#[derive(Debug, Clone)]
pub struct TenantAuth {
    pub id: TenantId,
    pub name: String,
    pub secret_hash: String,
    pub high_security: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// SHA-256 of the request body, hex.
    pub body_hash: String,
}

/// A job to store: its items are already split into segments.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant_id: TenantId,
    pub batch_type: BatchType,
    pub item_count: u32,
    pub segments: Vec<Segment>,
    pub idempotency: Option<Idempotency>,
    /// Refuse with `QueueFull` when the tenant's unprocessed items would exceed this.
    pub queue_limit: u64,
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobCreation {
    Created(JobId),
    /// The idempotency key was used with the same body within 24 h.
    Existing(JobId),
}

impl JobCreation {
    pub fn job_id(self) -> JobId {
        match self {
            JobCreation::Created(id) | JobCreation::Existing(id) => id,
        }
    }
}

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub batch_type: BatchType,
    pub state: JobState,
    pub item_count: u32,
    /// Items processed so far (the cursor).
    pub processed: u32,
    pub finished_count: u32,
    pub error_count: u32,
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
}

/// The rendered outcomes of one committed chunk (comma-joined entries, no brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultChunk {
    pub successful: String,
    pub failed: String,
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub batch_type: Option<BatchType>,
    /// Only jobs with a smaller id (keyset pagination, newest first).
    pub before: Option<JobId>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// Stopped by this call.
    Stopped(JobRecord),
    /// Stopped before: a repeated stop answers the same, and counts nothing new.
    AlreadyStopped(JobRecord),
    NotFound,
    /// Completed or failed: it cannot be stopped.
    AlreadyFinished(JobState),
}

/// A claim's proof: only the holder of the current token may commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub job_id: JobId,
    pub token: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub fence: Fence,
    pub tenant_id: TenantId,
    pub batch_type: BatchType,
    pub cursor: u32,
    pub item_count: u32,
    /// The job was running under a lease that lapsed (its worker died or stalled).
    pub taken_over: bool,
}

/// One chunk to apply: items `[from, from + items.len())`.
#[derive(Debug, Clone)]
pub struct ChunkWork {
    pub tenant_id: TenantId,
    pub from: u32,
    pub items: ChunkItems,
    pub now: OffsetDateTime,
    /// How long the job is kept once finished.
    pub retention: Duration,
    /// The commit also extends the lease to this instant (every chunk is a heartbeat).
    pub lease_until: OffsetDateTime,
}

impl ChunkWork {
    /// Takes the items out (to hand them to the domain) and leaves the rest of the
    /// work for the commit's bookkeeping.
    pub fn take_items(&mut self) -> ChunkItems {
        std::mem::replace(&mut self.items, ChunkItems::Customers(Vec::new()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkCommitted {
    pub cursor: u32,
    /// Set when this chunk finished the job.
    pub finished: Option<JobState>,
    /// The chunk's failed items by code (for the metrics), codes in ascending order.
    pub failures: Vec<(wire::ErrorCode, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView {
    pub record: CustomerRecord,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The final state of a job whose every item was processed (SPEC §3).
pub fn final_state(finished_count: u32) -> JobState {
    if finished_count > 0 {
        JobState::Completed
    } else {
        JobState::Failed
    }
}

/// Milliseconds since the epoch, the storage form of instants.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn add(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t + time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// The store's state as the metrics show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreGauges {
    /// Items of queued and running jobs not processed yet, over all tenants.
    pub queued_items: u64,
    /// PostgreSQL: pooled connections in use and idle.
    pub pool: Option<PoolGauges>,
    /// SQLite: operations waiting for the single writer.
    pub writer_queue: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolGauges {
    pub in_use: u64,
    pub idle: u64,
    pub max: u64,
}

/// Which movements `GET /transactions` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovementFilter {
    pub customer_id: Option<String>,
    /// Stored kinds (`MovementKind::as_str`); `None`: every kind.
    pub kinds: Option<Vec<&'static str>>,
    /// `Some(true)`: points added; `Some(false)`: points taken.
    pub credit: Option<bool>,
    /// Transaction time bounds, milliseconds: `from` included, `to` excluded.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub transaction_id: Option<String>,
    /// Keyset paging: movements with a larger id (a smaller one when `newest_first`).
    pub after: Option<i64>,
    pub limit: u32,
    /// Newest first (a customer's history) instead of oldest first.
    pub newest_first: bool,
}

impl MovementFilter {
    /// A backend's filter text (keyset condition `m.id > …`) turned for this order,
    /// and the ORDER BY it pages in.
    pub fn ordered(&self, filters: &str) -> (String, &'static str) {
        if self.newest_first {
            (filters.replace("m.id > ", "m.id < "), "ORDER BY m.id DESC")
        } else {
            (filters.to_owned(), "ORDER BY m.id")
        }
    }

    /// The kinds as one comma-framed text (`,cashback,order,`) for the SQL, or `None`.
    pub fn kinds_text(&self) -> Option<String> {
        self.kinds.as_ref().map(|k| format!(",{},", k.join(",")))
    }

    /// The direction as the SQL's sign: 1 added, -1 taken, 0 either.
    pub fn sign(&self) -> i64 {
        match self.credit {
            Some(true) => 1,
            Some(false) => -1,
            None => 0,
        }
    }
}

/// A movement as `GET /transactions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMovement {
    pub id: i64,
    pub customer_id: String,
    pub kind: String,
    pub transaction_id: Option<String>,
    pub hold_reference: Option<String>,
    pub order_id: Option<String>,
    pub reverses: Option<String>,
    pub points: i64,
    /// The money amount as stored (exact decimal text).
    pub amount: Option<String>,
    pub transaction_time: i64,
    pub created_at: i64,
}
