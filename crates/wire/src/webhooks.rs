//! Webhooks on the wire: the event a job's end sends, the endpoints and their deliveries.

use crate::JobStatus;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The body POSTed to a webhook endpoint when a job ends. Signed: the
/// `Loyalbatch-Signature` header is `t=<unix seconds>,v1=<hex
/// HMAC-SHA256(secret, "<t>.<raw body>")>`; `Loyalbatch-Event-Id` is `id`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// `evt_<jobId>`: one event per job, the same at every endpoint and every retry.
    pub id: String,
    /// `batch.completed`, `batch.failed` or `batch.stopped`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the job ended.
    #[serde(with = "crate::instant")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The job's status as `GET /batch/{jobId}` answers it, without `response`.
    pub data: JobStatus,
}

/// A registered endpoint (its signing secret is shown only when created).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    /// The events sent to it.
    pub events: Vec<String>,
    #[serde(with = "crate::instant")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// `POST /webhooks`: the endpoint and its signing secret, shown only now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCreated {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// `whsec_…`: the key of every delivery's HMAC signature. Keep it; it is not shown again.
    pub secret: String,
    #[serde(with = "crate::instant")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// `GET /webhooks`: the tenant's endpoints, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// `DELETE /webhooks/{webhookId}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRemoved {
    pub id: i64,
    pub removed: bool,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet: an attempt is due at `nextAttemptAt`.
    Pending,
    /// An attempt was answered with a 2xx.
    Delivered,
    /// Every attempt failed until the retry period ended.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: i64,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub job_id: i64,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// The HTTP status of the last attempt (`null` before any, or when none came back).
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed (a timeout, a refused connection, a non-2xx status).
    pub last_error: Option<String>,
    #[serde(with = "crate::instant::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// When the next attempt is due (`null` unless pending).
    #[serde(with = "crate::instant::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "crate::instant::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<OffsetDateTime>,
    #[serde(with = "crate::instant")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// The `after` of the next page; `null` on the last.
    pub next: Option<i64>,
}
