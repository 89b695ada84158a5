//! `app::Error`: why an action was refused, in Gameball's terms (a code and a
//! sentence naming the field), for every door to present its own way.

use std::time::Duration;
use store::StoreError;
use wire::ErrorCode;

/// Why a job action conflicts with the job's state (all answered 4009; the
/// console tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The job already completed or failed (stop).
    Finished,
    /// Queued or running: its failures are not final yet (retry).
    NotFinished,
    /// No item failed (retry).
    NothingFailed,
    /// The failed items' texts are no longer kept (retry).
    ItemsGone,
    /// Anything else: an idempotency key reused with another body, an order reversed twice.
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused as Gameball refuses it: the HTTP status follows from the code.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    /// The action conflicts with a state (4009).
    #[error("{message}")]
    Conflict { why: Conflict, message: String },
    /// Too much is waiting (a tenant's queue is full): 429, to retry after the pause.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after: Duration,
    },
    /// The database cannot take more now (its connections all busy, or at its
    /// limit): 503 with `Retry-After`. Load, not a fault: logged at WARN, once
    /// in a while.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after: Duration,
    },
    /// A fault, not the caller's: logged by the door, never shown.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::refused(ErrorCode::InvalidValue, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::refused(ErrorCode::NotFound, message)
    }

    pub fn conflict(why: Conflict, message: impl Into<String>) -> Error {
        Error::Conflict {
            why,
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Error {
        Error::Internal(cause.to_string())
    }

    pub fn customer_not_found(id: &str) -> Error {
        Error::refused(
            ErrorCode::CustomerNotFound,
            format!("customer '{id}' not found"),
        )
    }

    pub fn job_not_found(key: impl std::fmt::Display) -> Error {
        Error::not_found(format!("job {key} not found"))
    }

    /// The Gameball code the error is answered with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused { code, .. } => *code,
            Error::Conflict { .. } => ErrorCode::StateConflict,
            Error::Busy { .. } => ErrorCode::LimitExceeded,
            Error::Unavailable { .. } | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The sentence shown to the caller (never an internal cause).
    pub fn message(&self) -> &str {
        match self {
            Error::Refused { message, .. }
            | Error::Conflict { message, .. }
            | Error::Busy { message, .. }
            | Error::Unavailable { message, .. } => message,
            Error::Internal(_) => "internal error",
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::NotFound | ErrorCode::CustomerNotFound
        )
    }
}

/// An item's failure is the single call's error: the same code and sentence.
impl From<domain::ItemFailure> for Error {
    fn from(f: domain::ItemFailure) -> Error {
        Error::refused(f.code, f.message)
    }
}

impl From<domain::outcome::Rejected> for Error {
    fn from(r: domain::outcome::Rejected) -> Error {
        r.failure.into()
    }
}

/// What the store's errors mean to a caller; a full queue is mapped where a job
/// is created (it needs the configured `Retry-After`), anything unexpected is internal.
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound => Error::not_found("not found"),
            StoreError::IdempotencyConflict => Error::conflict(
                Conflict::Other,
                "Idempotency-Key: already used with a different body",
            ),
            StoreError::Unavailable(cause) => {
                shed(&cause);
                Error::Unavailable {
                    message: "the database is busy; retry later".to_owned(),
                    retry_after: Duration::from_secs(1),
                }
            }
            StoreError::StorageFull => {
                shed("the database's disk is full");
                Error::Unavailable {
                    message: "the database's disk is full; nothing was stored, retry later"
                        .to_owned(),
                    retry_after: STORAGE_FULL_RETRY_AFTER,
                }
            }
            StoreError::TimedOut => Error::refused(
                ErrorCode::LimitExceeded,
                "the listing took too long to read; narrow it (from, to, customerId, type)",
            ),
            other => Error::internal(other),
        }
    }
}

/// The `Retry-After` of a write refused because the database's disk is full:
/// space comes back when an operator frees it, not in a second.
pub const STORAGE_FULL_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Shed load is logged at WARN, at most once per [`SHED_LOG_EVERY`] per node
/// (a busy database must not also flood the logs).
fn shed(cause: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    static SHED: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let shed = SHED.fetch_add(1, Ordering::Relaxed) + 1;
    let last = LAST.load(Ordering::Relaxed);
    if now >= last + SHED_LOG_EVERY.as_secs()
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        SHED.store(0, Ordering::Relaxed);
        tracing::warn!(
            cause,
            calls = shed,
            "the database is busy: calls answered 503"
        );
    }
}

/// How often shed load is logged.
const SHED_LOG_EVERY: Duration = Duration::from_secs(10);
