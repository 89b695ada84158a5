//! `/health` (the process is up), `/ready` (the database answers), and the 404 for unknown routes.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use wire::{ErrorCode, Probe};

pub async fn health() -> Json<Probe> {
    Json(Probe { status: "ok" })
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Probe>) {
    match state.app.ready().await {
        Ok(()) => (StatusCode::OK, Json(Probe { status: "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Probe {
                    status: "unavailable",
                }),
            )
        }
    }
}

pub async fn not_found(uri: Uri) -> ApiError {
    crate::metrics::unmatched(StatusCode::NOT_FOUND);
    ApiError::new(ErrorCode::NotFound, format!("no route for {}", uri.path()))
}
