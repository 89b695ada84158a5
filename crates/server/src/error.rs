//! `ApiError`: one error type for every handler, mapped to the Gameball envelope with an explicit status/code table.

use crate::request_id;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wire::{ErrorBody, ErrorCode};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with the status that goes with its code (SPEC §1.1).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    /// Adds `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn job_not_found(key: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("job {key} not found"))
    }

    /// A 5xx: the cause goes to the log, the body says nothing about it.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(request_id = %request_id::current(), error = %cause, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error")
    }
}

/// The application layer's refusals, with the status that goes with each.
impl From<app::Error> for ApiError {
    fn from(e: app::Error) -> ApiError {
        match e {
            app::Error::Refused { code, message } => ApiError::new(code, message),
            app::Error::Conflict { message, .. } => {
                ApiError::new(ErrorCode::StateConflict, message)
            }
            app::Error::Busy {
                message,
                retry_after,
            } => ApiError::new(ErrorCode::LimitExceeded, message)
                .with_status(StatusCode::TOO_MANY_REQUESTS)
                .retry_after(retry_after.as_secs().max(1)),
            app::Error::Unavailable {
                message,
                retry_after,
            } => ApiError::new(ErrorCode::Internal, message)
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .retry_after(retry_after.as_secs().max(1)),
            app::Error::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody::new(self.code, self.message, request_id::current());
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(&"handler panicked").into_response()
}
