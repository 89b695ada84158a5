//! Request bodies: JSON only (a missing content type is tolerated), bounded in size, with Gameball codes for each refusal.

use crate::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::value::RawValue;
use wire::ErrorCode;

/// The raw bytes of a JSON request body.
pub struct JsonBytes(pub Bytes);

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
                    format!("Content-Type must be application/json, not '{ct}'"),
                ));
            }
        }
        let limit = state.settings.max_body_bytes;
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(JsonBytes(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(
                    ErrorCode::LimitExceeded,
                    format!("request body is larger than {limit} bytes"),
                )
                .with_status(StatusCode::PAYLOAD_TOO_LARGE))
            }
            Err(rejection) => Err(ApiError::new(
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

    /// The items of a batch request `{"body": [item, …]}`, unparsed.
    pub fn batch_items(&self, max_items: usize) -> Result<Vec<&RawValue>, ApiError> {
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
        let items: Vec<&RawValue> = serde_json::from_str(body.get())
            .map_err(|_| malformed("body: must be an array".into()))?;
        if items.is_empty() {
            return Err(malformed("body: must not be empty".into()));
        }
        if items.len() > max_items {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "body: {} objects exceed the limit of {max_items} per request",
                    items.len()
                ),
            ));
        }
        Ok(items)
    }
}
