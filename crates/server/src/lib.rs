//! The HTTP layer: routes under the three Gameball base paths, auth, and handlers that extract → call → map.
#![forbid(unsafe_code)]

mod auth;
mod body;
mod connections;
pub mod console;
mod envelope;
mod error;
mod handlers;
pub mod job_watch;
pub mod keys;
pub mod metrics;
pub mod openapi;
mod request_id;
mod routes;
pub mod v3;

pub use connections::ConnectionSettings;
pub use error::ApiError;
/// Webhook endpoints as the API and the CLI register them.
pub mod webhooks {
    pub use crate::handlers::webhooks::{check_endpoint, delivery_view, register, view};
}

use axum::Router;
use axum::extract::DefaultBodyLimit;
use engine::Waker;
use routes::Routes;
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
    /// Webhook endpoints may be loopback, private or link-local addresses.
    pub webhook_allow_private: bool,
    /// The console's cookies carry `Secure` (served over TLS, or behind a TLS proxy).
    pub console_secure_cookies: bool,
    /// Mixed into the console's session signatures (the same on every node).
    pub console_key: Option<String>,
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
            webhook_allow_private: false,
            console_secure_cookies: false,
            console_key: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub waker: Waker,
    pub settings: Arc<ServerSettings>,
    /// The node's reader of the jobs its event streams follow
    /// (`JobWatch::new(store.clone())`).
    pub jobs: job_watch::JobWatch,
}

/// Base paths the API answers under (the docs use all three).
pub const BASE_PATHS: [&str; 3] = [
    "/api/v4.0/integrations",
    "/api/v4/integrations",
    "/api/v4.1/integrations",
];

/// The API's routes, served under each of [`BASE_PATHS`].
fn api_routes() -> Routes<AppState> {
    use handlers::{
        batch, configurations, customers, jobs, listing, progress, transactions, webhooks,
    };
    Routes::new()
        .get("/batch", jobs::list)
        .post(
            "/batch/orders/transactions",
            batch::create_order_transactions,
        )
        .post("/batch/{key}", batch::create)
        .get("/batch/{key}", jobs::status)
        .delete("/batch/{key}", jobs::stop)
        .get("/batch/{key}/events", progress::events)
        .post("/batch/{key}/retry", jobs::retry)
        .get("/batches/{key}/status", jobs::status)
        .post("/batches/{key}/stop", jobs::stop)
        .post("/customers", customers::upsert)
        .get("/customers/{customer_id}", customers::get)
        .delete("/customers/{customer_id}", customers::delete)
        .get("/customers/{customer_id}/balance", transactions::balance)
        .get(
            "/customers/{customer_id}/transactions",
            listing::customer_history,
        )
        .post("/customers/{customer_id}/tags", customers::attach_tags)
        .delete("/customers/{customer_id}/tags", customers::remove_tags)
        .delete("/customers/{customer_id}/tags/{tag}", customers::remove_tag)
        .post("/events", customers::events)
        .post("/transactions/cashback", transactions::cashback)
        .post("/transactions/redeem", transactions::redeem)
        .post("/transactions/manual", transactions::manual)
        .post("/transactions/refund", transactions::refund)
        .post("/orders", transactions::order)
        .post("/orders/reward-preview", transactions::reward_preview)
        .get(
            "/orders/{order_id}/transactions",
            transactions::order_transactions,
        )
        .delete(
            "/orders/{order_id}/transactions",
            transactions::reverse_order,
        )
        .get("/transactions", listing::list)
        .get("/transactions/count", listing::count)
        .post("/transactions/hold", transactions::hold)
        .get("/transactions/hold/{reference}", transactions::get_hold)
        .delete("/transactions/hold/{reference}", transactions::release_hold)
        .get("/configurations/cashback", configurations::cashback)
        .get("/configurations/redemption", configurations::redemption)
        .post("/webhooks", webhooks::create)
        .get("/webhooks", webhooks::list)
        .delete("/webhooks/{key}", webhooks::remove)
        .get("/webhooks/{key}/deliveries", webhooks::deliveries)
        .post(
            "/webhooks/{key}/deliveries/{delivery}/retry",
            webhooks::retry,
        )
}

/// Routes outside the base paths: probes and the API's own description (no keys).
fn top_level_routes() -> Routes<AppState> {
    Routes::new()
        .get("/health", handlers::health::health)
        .get("/ready", handlers::health::ready)
        .get(openapi::DOCUMENT_PATH, openapi::document)
        .get(openapi::REFERENCE_PATH, openapi::reference)
}

/// Every (method, full path template) the router serves: the top-level routes
/// and the API's routes under each base path.
pub fn route_table() -> Vec<(axum::http::Method, String)> {
    let top = top_level_routes().table.into_iter();
    let api = api_routes().table;
    let v3 = v3::routes().table;
    top.map(|(m, p)| (m, p.to_owned()))
        .chain(BASE_PATHS.iter().flat_map(|base| {
            api.iter()
                .map(move |(m, p)| (m.clone(), format!("{base}{p}")))
        }))
        .chain(
            v3.into_iter()
                .map(|(m, p)| (m, format!("{}{p}", v3::BASE_PATH))),
        )
        .collect()
}

pub fn router(state: AppState) -> Router {
    let api = api_routes().router;
    let mut app = top_level_routes().router;
    for base in BASE_PATHS {
        app = app.nest(base, api.clone());
    }
    app = app.nest(v3::BASE_PATH, v3::routes().router);
    // The console: pages, not API (outside the route table and the document).
    app = app.merge(console::routes());
    let app = app.route_layer(axum::middleware::from_fn(metrics::record_request));
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
    // Open event streams end at shutdown (their clients reconnect elsewhere).
    let app = router(state).layer(axum::Extension(handlers::progress::StreamsEnd(
        token.clone(),
    )));
    connections::serve(listener, app, settings, token).await
}
