//! Every error leaves in the envelope: the framework's own plain-text or empty answers (unknown method, unreadable path or query string) are rewritten with a Gameball code.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use wire::ErrorCode;

/// The longest framework message kept (they name the offending part).
const MAX_MESSAGE_BYTES: usize = 4096;

pub async fn every_error_is_an_envelope(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    // The console's pages answer their errors as pages.
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json || is_html {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, message) = match status {
        // The router adds `Allow` on the way out, after this layer.
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::NotFound,
            format!("method {method} is not allowed here; the Allow header lists those that are"),
        ),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "not found".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::LimitExceeded, text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ErrorCode::NotJson, text),
        s if s.is_server_error() => {
            return ApiError::internal(&format_args!("{status}: {text}")).into_response();
        }
        // An unreadable path or query string: the framework says which part.
        _ if text.is_empty() => (ErrorCode::MalformedPayload, "malformed request".to_owned()),
        _ => (
            ErrorCode::InvalidValue,
            domain::limits::quote(&text).into_owned(),
        ),
    };
    let mut rewritten = ApiError::new(code, message)
        .with_status(status)
        .into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        rewritten.headers_mut().insert(header::ALLOW, allow.clone());
    }
    rewritten
}
