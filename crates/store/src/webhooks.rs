//! Webhooks at the store seam: endpoints, their deliveries, and the one event
//! row a job's end writes in the same transaction as its final state.

use crate::types::*;
use domain::webhooks::{EventType, event_id};
use time::OffsetDateTime;
use wire::{DeliveryStatus, ResponseField, WebhookEvent};

/// The event a job that just ended sends to every subscribed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalEvent {
    pub kind: EventType,
    /// The exact body every endpoint receives.
    pub body: String,
    /// When it is due first (the job's end, milliseconds).
    pub at: i64,
}

/// The event of a job that just ended (`None` while it has not).
pub fn final_event(job: &JobRecord) -> Option<FinalEvent> {
    let kind = EventType::of_state(job.state)?;
    let ended = job.finished_at.unwrap_or(job.created_at);
    let event = WebhookEvent {
        id: event_id(job.id),
        event_type: kind.as_str().to_owned(),
        created_at: ended,
        data: job.clone().status(ResponseField::Omitted),
    };
    let body = serde_json::to_string(&event).expect("an event serializes");
    Some(FinalEvent {
        kind,
        body,
        at: to_millis(ended),
    })
}

/// How a subscription list is stored: `,batch.completed,batch.failed,` (so a
/// `LIKE '%,<type>,%'` finds subscribers on both backends).
pub fn events_text(events: &[EventType]) -> String {
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    format!(",{},", names.join(","))
}

pub fn events_from_text(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An endpoint to register (URL and events already checked).
#[derive(Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
    pub secret: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: i64,
    pub tenant_id: TenantId,
    pub url: String,
    pub events: Vec<String>,
    /// The signing secret (never shown after creation).
    pub secret: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub webhook_id: i64,
    pub job_id: JobId,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryFilter {
    /// Only deliveries with a smaller id.
    pub before: Option<i64>,
    pub limit: u32,
}

/// How many deliveries a claim may take: at most `limit` in all, and never
/// more than `per_tenant` (or `per_endpoint`) in flight at once, counting those
/// already leased — one tenant's slow endpoints cannot take every slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimits {
    pub limit: u32,
    pub per_tenant: u32,
    pub per_endpoint: u32,
}

/// A delivery claimed under a lease: only the holder of `token` may record its attempt.
#[derive(Clone, PartialEq, Eq)]
pub struct DeliveryClaim {
    pub id: i64,
    pub token: i64,
    pub url: String,
    pub secret: String,
    pub job_id: JobId,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When the event was written (milliseconds): retries go on for a period from it.
    pub created_at: i64,
}

// Debug never shows a signing secret (a `?value` in a log line would leak it).
impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl std::fmt::Debug for DeliveryClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryClaim")
            .field("id", &self.id)
            .field("token", &self.token)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("job_id", &self.job_id)
            .field("attempts", &self.attempts)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let w = NewWebhook {
            url: "https://x.example/".into(),
            events: vec![EventType::Completed],
            secret: "whsec_topsecret".into(),
        };
        assert!(!format!("{w:?}").contains("topsecret"));
        let r = WebhookRecord {
            id: 1,
            tenant_id: 1,
            url: w.url.clone(),
            events: vec![],
            secret: w.secret.clone(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(!format!("{r:?}").contains("topsecret"));
        let c = DeliveryClaim {
            id: 1,
            token: 1,
            url: w.url,
            secret: w.secret,
            job_id: 1,
            payload: "{}".into(),
            attempts: 0,
            created_at: 0,
        };
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Failed; tried again at `next_attempt_at` (milliseconds).
    Retry {
        next_attempt_at: i64,
    },
    /// Failed, and the retry period is over.
    GaveUp,
}

/// One attempt, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    pub id: i64,
    pub token: i64,
    /// Milliseconds.
    pub attempted_at: i64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub result: AttemptResult,
}

impl AttemptReport {
    /// The stored status and next attempt the report leaves.
    pub fn outcome(&self) -> (DeliveryStatus, Option<i64>) {
        match self.result {
            AttemptResult::Delivered => (DeliveryStatus::Delivered, None),
            AttemptResult::Retry { next_attempt_at } => {
                (DeliveryStatus::Pending, Some(next_attempt_at))
            }
            AttemptResult::GaveUp => (DeliveryStatus::Failed, None),
        }
    }
}

/// How long settled deliveries are kept (then purged with expired jobs).
pub const DELIVERY_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// What every backend selects of a delivery, in [`DeliveryRecord`]'s order.
pub const DELIVERY_COLUMNS: &str = "id, webhook_id, job_id, event_type, status, attempts, \
     last_status_code, last_error, last_attempt_at, next_attempt_at, delivered_at, created_at";

/// A delivery from its columns (milliseconds and texts as stored).
#[allow(clippy::too_many_arguments)]
pub fn delivery_record(
    id: i64,
    webhook_id: i64,
    job_id: i64,
    event_type: String,
    status: &str,
    attempts: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    times: [Option<i64>; 4],
) -> Result<DeliveryRecord, StoreError> {
    let [last_attempt_at, next_attempt_at, delivered_at, created_at] = times;
    Ok(DeliveryRecord {
        id,
        webhook_id,
        job_id,
        event_type,
        status: DeliveryStatus::parse(status)
            .ok_or_else(|| StoreError::Conflict(format!("unknown delivery status {status}")))?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        last_status_code: last_status_code.and_then(|c| u16::try_from(c).ok()),
        last_error,
        last_attempt_at: last_attempt_at.map(from_millis),
        next_attempt_at: next_attempt_at.map(from_millis),
        delivered_at: delivered_at.map(from_millis),
        created_at: from_millis(created_at.unwrap_or(0)),
    })
}
