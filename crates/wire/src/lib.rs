//! Wire types of the Gameball-compatible API: what goes over HTTP, shared by server and clients.
#![forbid(unsafe_code)]

pub mod instant;
mod results;
mod schema;
pub mod spreadsheet;
pub mod v3;
mod views;
mod webhooks;
pub use results::{BalanceView, FailureEntry, OrderTransaction, Success, SuccessEntry};
pub use views::{
    CashbackConfiguration, CashbackPreview, CashbackRule, CustomerDeleted, CustomerView, Done,
    HoldView, Probe, RedemptionConfiguration, RewardPreview, TransactionCount, TransactionList,
    TransactionView,
};
pub use webhooks::{
    DeliveryList, DeliveryStatus, DeliveryView, WebhookCreated, WebhookEvent, WebhookList,
    WebhookRemoved, WebhookView,
};

/// The base paths the v4 API answers under (the docs use all three); the
/// first is the one the OpenAPI document names.
pub const BASE_PATHS: [&str; 3] = [
    "/api/v4.0/integrations",
    "/api/v4/integrations",
    "/api/v4.1/integrations",
];

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The kinds of batch job, named as in the URL path `POST /batch/{type}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum BatchType {
    #[serde(rename = "customers")]
    Customers,
    #[serde(rename = "events")]
    Events,
    #[serde(rename = "balance-inquiry")]
    BalanceInquiry,
    #[serde(rename = "balance-adjustment")]
    BalanceAdjustment,
    #[serde(rename = "cashback")]
    Cashback,
    #[serde(rename = "redeem")]
    Redeem,
    #[serde(rename = "orders")]
    Orders,
    #[serde(rename = "orders/transactions")]
    OrderTransactions,
}

impl BatchType {
    pub const ALL: [BatchType; 8] = [
        BatchType::Customers,
        BatchType::Events,
        BatchType::BalanceInquiry,
        BatchType::BalanceAdjustment,
        BatchType::Cashback,
        BatchType::Redeem,
        BatchType::Orders,
        BatchType::OrderTransactions,
    ];

    /// The path segment(s) after `/batch/`.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchType::Customers => "customers",
            BatchType::Events => "events",
            BatchType::BalanceInquiry => "balance-inquiry",
            BatchType::BalanceAdjustment => "balance-adjustment",
            BatchType::Cashback => "cashback",
            BatchType::Redeem => "redeem",
            BatchType::Orders => "orders",
            BatchType::OrderTransactions => "orders/transactions",
        }
    }

    pub fn parse(s: &str) -> Option<BatchType> {
        BatchType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The `operation` string of SPEC §2.
    pub fn operation(self) -> &'static str {
        match self {
            BatchType::Customers => "Customer Creation Batch Job",
            BatchType::Events => "Event Batch Job",
            BatchType::BalanceInquiry => "Balance Inquiry Batch Job",
            BatchType::BalanceAdjustment => "Balance Adjustment Batch Job",
            BatchType::Cashback => "Cashback Reward Batch Job",
            BatchType::Redeem => "Redemption Batch Job",
            BatchType::Orders => "Order Batch Job",
            BatchType::OrderTransactions => "Order Transactions Batch Job",
        }
    }
}

impl fmt::Display for BatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job's state: `queued` → `running` → `completed`, `failed` or `stopped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Completed,
    Failed,
    Stopped,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Completed,
            JobState::Failed,
            JobState::Stopped,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Stopped
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every refused request's body: a Gameball code, its type, a sentence naming
/// the field, and the request id (also the `x-request-id` header).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[schema(value_type = ErrorCode)]
    pub code: u32,
    /// The same code again, for clients written against Gameball's OpenAPI
    /// document (`{error, message}`) rather than its error-codes page.
    #[serde(default)]
    #[schema(value_type = ErrorCode)]
    pub error: u32,
    /// The code's family: `Authentication Error`, `Payload Error`, `Not Found`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    pub request_id: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>, request_id: String) -> ErrorBody {
        ErrorBody {
            code: code.code(),
            error: code.code(),
            kind: code.kind().to_owned(),
            message: message.into(),
            request_id,
        }
    }
}

/// The id of the job a batch request created (or, replayed with the same
/// `Idempotency-Key`, created before).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobCreated {
    pub job_id: i64,
}

/// `response` of a job status: the per-item results, in submission order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobResults {
    #[schema(value_type = Vec<SuccessEntry>)]
    pub successful: Box<RawValue>,
    #[schema(value_type = Vec<FailureEntry>)]
    pub failed: Box<RawValue>,
}

/// A job's status (also a list entry, without `response`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub job_id: i64,
    pub operation: String,
    #[serde(rename = "type")]
    pub batch_type: BatchType,
    pub status: JobState,
    pub error_count: u32,
    pub total_count: u32,
    pub finished_count: u32,
    pub item_count: u32,
    pub unprocessed_count: u32,
    #[serde(with = "crate::instant")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::instant::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "crate::instant::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    /// When a finished job's results are deleted (`null` until it finishes).
    #[serde(with = "crate::instant::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// Why a job failed as a whole (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub error: Option<String>,
    /// Absent in list entries; `null` until the first item is processed.
    #[serde(default, skip_serializing_if = "ResponseField::is_omitted")]
    #[schema(value_type = Option<JobResults>)]
    pub response: ResponseField,
}

/// `response` is omitted in list entries, `null` before any result, else the results.
#[derive(Debug, Default)]
pub enum ResponseField {
    #[default]
    Omitted,
    Null,
    Results(JobResults),
}

impl ResponseField {
    pub fn is_omitted(&self) -> bool {
        matches!(self, ResponseField::Omitted)
    }

    pub fn results(&self) -> Option<&JobResults> {
        match self {
            ResponseField::Results(r) => Some(r),
            _ => None,
        }
    }
}

impl Serialize for ResponseField {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ResponseField::Results(r) => r.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for ResponseField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<JobResults>::deserialize(d)? {
            Some(r) => ResponseField::Results(r),
            None => ResponseField::Null,
        })
    }
}

/// A page of the tenant's jobs, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobStatus>,
    /// The `after` of the next page; `null` on the last.
    pub next: Option<i64>,
}

/// A `progress` event of a job's event stream: its counts now.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    pub job_id: i64,
    pub status: JobState,
    pub item_count: u32,
    pub total_count: u32,
    pub finished_count: u32,
    pub error_count: u32,
    pub unprocessed_count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStopped {
    pub job_id: i64,
    pub status: JobState,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerCreated {
    pub gameball_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct EventsAccepted {
    pub success: bool,
    pub message: String,
}

impl EventsAccepted {
    /// The answer to recorded events.
    pub fn processed() -> EventsAccepted {
        EventsAccepted {
            success: true,
            message: "Events processed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_type_round_trips_through_its_path_name() {
        for t in BatchType::ALL {
            assert_eq!(BatchType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(BatchType::parse("nope"), None);
    }

    #[test]
    fn response_field_serializes_null_or_results_and_is_skipped_when_omitted() {
        let null = serde_json::to_value(ResponseField::Null).unwrap();
        assert!(null.is_null());
        let results = ResponseField::Results(JobResults {
            successful: RawValue::from_string("[{\"index\":0}]".into()).unwrap(),
            failed: RawValue::from_string("[]".into()).unwrap(),
        });
        let v = serde_json::to_value(&results).unwrap();
        assert_eq!(v["successful"][0]["index"], 0);
        assert!(ResponseField::Omitted.is_omitted());
    }
}

/// Gameball error codes used by loyalbatch (SPEC §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidApiKey,
    SecretRequired,
    MissingField,
    InvalidValue,
    LimitExceeded,
    NotJson,
    MalformedPayload,
    NotFound,
    StateConflict,
    Internal,
    CustomerNotFound,
    TransactionNotFound,
    DuplicateTransaction,
    HoldNotFound,
    TransactionTimeInvalid,
    InsufficientPoints,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::InvalidApiKey,
        ErrorCode::SecretRequired,
        ErrorCode::MissingField,
        ErrorCode::InvalidValue,
        ErrorCode::LimitExceeded,
        ErrorCode::NotJson,
        ErrorCode::MalformedPayload,
        ErrorCode::NotFound,
        ErrorCode::StateConflict,
        ErrorCode::Internal,
        ErrorCode::CustomerNotFound,
        ErrorCode::TransactionNotFound,
        ErrorCode::DuplicateTransaction,
        ErrorCode::HoldNotFound,
        ErrorCode::TransactionTimeInvalid,
        ErrorCode::InsufficientPoints,
    ];

    /// The numeric Gameball code.
    pub fn code(self) -> u32 {
        match self {
            ErrorCode::InvalidApiKey => 1000,
            ErrorCode::SecretRequired => 1001,
            ErrorCode::MissingField => 3000,
            ErrorCode::InvalidValue => 3003,
            ErrorCode::LimitExceeded => 3011,
            ErrorCode::NotJson => 3013,
            ErrorCode::MalformedPayload => 3016,
            ErrorCode::NotFound => 4004,
            ErrorCode::StateConflict => 4009,
            ErrorCode::Internal => 5000,
            ErrorCode::CustomerNotFound => 7000,
            ErrorCode::TransactionNotFound => 9002,
            ErrorCode::DuplicateTransaction => 9004,
            ErrorCode::HoldNotFound => 9006,
            ErrorCode::TransactionTimeInvalid => 9007,
            ErrorCode::InsufficientPoints => 9008,
        }
    }

    /// The HTTP status that goes with the code when a whole request fails with it.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidApiKey | ErrorCode::SecretRequired => 401,
            ErrorCode::MissingField | ErrorCode::MalformedPayload => 400,
            ErrorCode::InvalidValue
            | ErrorCode::LimitExceeded
            | ErrorCode::DuplicateTransaction
            | ErrorCode::TransactionTimeInvalid
            | ErrorCode::InsufficientPoints => 422,
            ErrorCode::NotJson => 415,
            ErrorCode::NotFound
            | ErrorCode::CustomerNotFound
            | ErrorCode::TransactionNotFound
            | ErrorCode::HoldNotFound => 404,
            ErrorCode::StateConflict => 409,
            ErrorCode::Internal => 500,
        }
    }

    /// The envelope's `type`.
    pub fn kind(self) -> &'static str {
        match self {
            ErrorCode::InvalidApiKey | ErrorCode::SecretRequired => "Authentication Error",
            ErrorCode::MissingField
            | ErrorCode::InvalidValue
            | ErrorCode::LimitExceeded
            | ErrorCode::NotJson
            | ErrorCode::MalformedPayload => "Payload Error",
            ErrorCode::NotFound
            | ErrorCode::CustomerNotFound
            | ErrorCode::TransactionNotFound
            | ErrorCode::HoldNotFound => "Not Found",
            ErrorCode::StateConflict => "Conflict",
            ErrorCode::Internal => "Internal Error",
            ErrorCode::DuplicateTransaction
            | ErrorCode::TransactionTimeInvalid
            | ErrorCode::InsufficientPoints => "Transaction Error",
        }
    }
}
