//! Request bodies: JSON only (a missing content type is tolerated), bounded in size, with Gameball codes for each refusal.

use crate::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wire::ErrorCode;

/// The request body bytes being read or processed at once, over all requests.
#[derive(Clone)]
pub struct BodyBudget(Arc<Semaphore>);

impl BodyBudget {
    pub fn new(bytes: usize) -> BodyBudget {
        BodyBudget(Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))))
    }
}

/// The raw bytes of a JSON request body, and its share of the body budget (held
/// until the handler is done with it).
pub struct JsonBytes(pub Bytes, #[allow(dead_code)] OwnedSemaphorePermit);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default();
            let mime = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if mime != "application/json" && !mime.ends_with("+json") {
                return Err(ApiError::new(
                    ErrorCode::NotJson,
                    format!(
                        "Content-Type must be application/json, not '{}'",
                        domain::limits::quote(ct)
                    ),
                ));
            }
        }
        if let Some(encoding) = req.headers().get(header::CONTENT_ENCODING) {
            let encoding = encoding.to_str().unwrap_or_default().trim();
            if !encoding.eq_ignore_ascii_case("identity") {
                return Err(ApiError::new(
                    ErrorCode::NotJson,
                    format!(
                        "Content-Encoding '{}' is not supported: send the body uncompressed",
                        domain::limits::quote(encoding)
                    ),
                ));
            }
        }
        let limit = state.http.max_body_bytes;
        // Reserve what the body may take before reading it: its declared length,
        // or the limit when it does not say (chunked).
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .unwrap_or(limit)
            .clamp(1, limit.max(1));
        let budget = req
            .extensions()
            .get::<BodyBudget>()
            .cloned()
            .ok_or_else(|| ApiError::internal(&"the body budget is not installed"))?;
        let permit = u32::try_from(declared)
            .ok()
            .and_then(|n| budget.0.try_acquire_many_owned(n).ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Internal,
                    "the server is busy reading other requests; retry later",
                )
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .retry_after(1)
            })?;
        let read = Bytes::from_request(req, state);
        match tokio::time::timeout(state.http.body_timeout, read).await {
            Err(_) => Err(ApiError::new(
                ErrorCode::MalformedPayload,
                format!(
                    "request body not received within {} s",
                    state.http.body_timeout.as_secs_f64()
                ),
            )
            .with_status(StatusCode::REQUEST_TIMEOUT)),
            Ok(Ok(bytes)) => Ok(JsonBytes(bytes, permit)),
            Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(
                    ErrorCode::LimitExceeded,
                    format!("request body is larger than {limit} bytes"),
                )
                .with_status(StatusCode::PAYLOAD_TOO_LARGE))
            }
            Ok(Err(rejection)) => Err(ApiError::new(
                ErrorCode::MalformedPayload,
                format!("request body could not be read: {rejection}"),
            )),
        }
    }
}

impl JsonBytes {
    /// The body as one JSON value (single calls).
    pub fn value(&self) -> Result<serde_json::Value, ApiError> {
        serde_json::from_slice(&self.0).map_err(|e| {
            ApiError::new(
                ErrorCode::MalformedPayload,
                format!("request body is not valid JSON: {e}"),
            )
        })
    }

    /// The items of a batch request `{"body": [item, …]}`, unparsed (their
    /// count is the application layer's to check).
    pub fn batch_items(&self) -> Result<Vec<&RawValue>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            body: Option<&'a RawValue>,
        }
        let malformed = |m: String| ApiError::new(ErrorCode::MalformedPayload, m);
        let envelope: Envelope<'_> = serde_json::from_slice(&self.0).map_err(|e| {
            if e.is_data() {
                malformed("request body must be a JSON object with a 'body' array".into())
            } else {
                malformed(format!("request body is not valid JSON: {e}"))
            }
        })?;
        let body = envelope
            .body
            .filter(|b| b.get() != "null")
            .ok_or_else(|| malformed("body: required (an array of 1 to 1000 objects)".into()))?;
        serde_json::from_str(body.get()).map_err(|_| malformed("body: must be an array".into()))
    }
}
