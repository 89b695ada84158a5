//! The HTTP layer: routes under the three Gameball base paths, auth, and handlers that extract → call → map.
#![forbid(unsafe_code)]

mod auth;
mod body;
mod connections;
mod envelope;
mod error;
mod handlers;
pub mod keys;
mod request_id;

pub use connections::ConnectionSettings;
pub use error::ApiError;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use engine::Waker;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// Request limits and policies of the API.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Objects per batch request (SPEC §2, default 1,000).
    pub max_batch_items: usize,
    /// Request body bytes (default 16 MiB).
    pub max_body_bytes: usize,
    /// Unprocessed items a tenant may have queued (default 1,000,000).
    pub queue_limit: u64,
    /// How long finished jobs are kept (reported as `expiresAt`).
    pub retention: Duration,
    /// The `Retry-After` of a 429 for a full queue.
    pub queue_retry_after: Duration,
    /// Longest time to receive a request's body once its head arrived (408 beyond).
    pub body_timeout: Duration,
    /// Request body bytes being read or processed at once, over all requests;
    /// beyond it a request gets a 503 with `Retry-After` (memory stays bounded).
    pub max_inflight_body_bytes: usize,
    pub connections: ConnectionSettings,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            max_batch_items: 1000,
            max_body_bytes: 16 * 1024 * 1024,
            queue_limit: 1_000_000,
            retention: Duration::from_secs(30 * 24 * 3600),
            queue_retry_after: Duration::from_secs(5),
            body_timeout: Duration::from_secs(30),
            max_inflight_body_bytes: 256 * 1024 * 1024,
            connections: ConnectionSettings::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub waker: Waker,
    pub settings: Arc<ServerSettings>,
}

/// Base paths the API answers under (the docs use all three).
pub const BASE_PATHS: [&str; 3] = [
    "/api/v4.0/integrations",
    "/api/v4/integrations",
    "/api/v4.1/integrations",
];

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/batch", get(handlers::jobs::list))
        .route(
            "/batch/orders/transactions",
            post(handlers::batch::create_order_transactions),
        )
        .route(
            "/batch/{key}",
            post(handlers::batch::create)
                .get(handlers::jobs::status)
                .delete(handlers::jobs::stop),
        )
        .route("/batches/{key}/status", get(handlers::jobs::status))
        .route("/batches/{key}/stop", post(handlers::jobs::stop))
        .route("/customers", post(handlers::customers::upsert))
        .route(
            "/customers/{customer_id}",
            get(handlers::customers::get).delete(handlers::customers::delete),
        )
        .route(
            "/customers/{customer_id}/balance",
            get(handlers::transactions::balance),
        )
        .route("/events", post(handlers::customers::events))
        .route(
            "/transactions/cashback",
            post(handlers::transactions::cashback),
        )
        .route("/transactions/redeem", post(handlers::transactions::redeem))
        .route("/transactions/manual", post(handlers::transactions::manual))
        .route("/transactions/refund", post(handlers::transactions::refund))
        .route("/orders", post(handlers::transactions::order))
        .route(
            "/orders/{order_id}/transactions",
            get(handlers::transactions::order_transactions),
        )
        .route("/transactions/hold", post(handlers::transactions::hold))
        .route(
            "/transactions/hold/{reference}",
            get(handlers::transactions::get_hold).delete(handlers::transactions::release_hold),
        )
        .route(
            "/configurations/cashback",
            get(handlers::configurations::cashback),
        )
        .route(
            "/configurations/redemption",
            get(handlers::configurations::redemption),
        );
    let mut app = Router::new()
        .route("/health", get(handlers::health::health))
        .route("/ready", get(handlers::health::ready));
    for base in BASE_PATHS {
        app = app.nest(base, api.clone());
    }
    let max_body = state.settings.max_body_bytes;
    let budget = body::BodyBudget::new(state.settings.max_inflight_body_bytes);
    app.fallback(handlers::health::not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(budget))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn(
            envelope::every_error_is_an_envelope,
        ))
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(TraceLayer::new_for_http())
}

/// Serves the API on `listener` until `shutdown` resolves (production and tests alike).
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = tokio_util::sync::CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        shutdown.await;
        cancel.cancel();
    });
    let settings = state.settings.connections.clone();
    connections::serve(listener, router(state), settings, token).await
}
