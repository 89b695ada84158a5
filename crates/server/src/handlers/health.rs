//! `/health` (the process is up) and `/ready` (the database answers).

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use wire::Probe;

pub async fn health() -> Json<Probe> {
    Json(Probe {
        status: "ok",
        reason: None,
    })
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Probe>) {
    match state.app.ready().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Probe {
                status: "ready",
                reason: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Probe {
                    status: "unavailable",
                    reason: e.reason,
                }),
            )
        }
    }
}
