//! The HTTP layer: routes under the three Gameball base paths, auth, and handlers that extract → call → map.
#![forbid(unsafe_code)]

mod auth;
mod body;
mod connections;
mod envelope;
mod error;
mod handlers;
pub mod metrics;
pub mod request_id;
mod routes;
mod state;
pub mod streams;
pub mod v3;

#[cfg(test)]
mod contract_tests;

pub use connections::{ClientAddr, ConnectionSettings};
pub use error::ApiError;
pub use state::{AppState, HttpSettings};
pub use wire::BASE_PATHS;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use routes::Routes;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// The API's routes, served under each of [`BASE_PATHS`].
fn api_routes() -> Routes<AppState> {
    use handlers::{batch, configurations, customers, jobs, listing, transactions, webhooks};
    Routes::new()
        .get("/batch", jobs::list)
        .post(
            "/batch/orders/transactions",
            batch::create_order_transactions,
        )
        .post("/batch/{key}", batch::create)
        .get("/batch/{key}", jobs::status)
        .delete("/batch/{key}", jobs::stop)
        .get("/batch/{key}/events", streams::events)
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
        .get(contract::DOCUMENT_PATH, handlers::docs::document)
        .get(contract::REFERENCE_PATH, handlers::docs::reference)
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

/// The API's router; `pages` (the console) is served beside it, under the
/// same layers (request ids, the error envelope, caught panics, metrics).
pub fn router(state: AppState, pages: Router) -> Router {
    let api = api_routes().router;
    let mut app = top_level_routes().router;
    for base in BASE_PATHS {
        app = app.nest(base, api.clone());
    }
    app = app.nest(v3::BASE_PATH, v3::routes().router);
    let max_body = state.http.max_body_bytes;
    let budget = body::BodyBudget::new(state.http.max_inflight_body_bytes);
    app.fallback(metrics::unmatched)
        .with_state(state)
        .merge(pages)
        .route_layer(axum::middleware::from_fn(metrics::record_request))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(budget))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn(
            envelope::every_error_is_an_envelope,
        ))
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(TraceLayer::new_for_http())
}

/// Serves the API (and `pages`) on `listener` until `shutdown` resolves
/// (production and tests alike).
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    pages: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = tokio_util::sync::CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        shutdown.await;
        cancel.cancel();
    });
    let settings = state.http.connections.clone();
    // Open event streams end at shutdown (their clients reconnect elsewhere).
    let app = router(state, pages).layer(axum::Extension(streams::StreamsEnd(token.clone())));
    connections::serve(listener, app, settings, token).await
}
