//! HTTP metrics (requests by route template and status, their duration) and
//! the scrape endpoint, served on its own address (`--metrics-listen`), never
//! on the API port.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusHandle};
use std::time::Instant;
use tokio::net::TcpListener;

/// Gives each of the server's metrics its help text (call once the recorder is installed).
pub fn describe() {
    describe_counter!(
        "loyalbatch_http_requests_total",
        "HTTP requests by method, route template and status."
    );
    describe_histogram!(
        "loyalbatch_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request duration by route template."
    );
    describe_gauge!(
        "loyalbatch_items_queued",
        "Items of queued and running jobs not yet processed, over all tenants."
    );
    describe_gauge!(
        "loyalbatch_postgres_pool_connections",
        "PostgreSQL pool connections by state (in_use, idle)."
    );
    describe_gauge!(
        "loyalbatch_postgres_pool_max_connections",
        "PostgreSQL pool size limit."
    );
    describe_gauge!(
        "loyalbatch_sqlite_writer_queue_depth",
        "Operations waiting for the SQLite writer."
    );
    describe_gauge!(
        "loyalbatch_store_up",
        "1 when the last scrape could read the store, else 0."
    );
}

/// Durations: from a millisecond to a minute.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Items per chunk: up to the largest `--chunk-size`.
const ITEMS_BUCKETS: &[f64] = &[
    1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0,
];

/// Installs the process's Prometheus recorder (histograms with the buckets
/// above) and describes every metric; the handle renders a scrape.
pub fn install_recorder() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("loyalbatch_chunk_items".into()),
            ITEMS_BUCKETS,
        )?
        .install_recorder()?;
    engine::metrics::describe();
    app::metrics::describe();
    app::backups::describe();
    describe();
    Ok(handle)
}

/// Counts a matched request by its route template (bounded: the router's own paths).
pub async fn record_request(path: MatchedPath, req: Request, next: Next) -> Response {
    // A client may send any method name: the label keeps to a fixed few.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(req).await;
    let route = path.as_str().to_owned();
    let status = response.status().as_u16().to_string();
    histogram!("loyalbatch_http_request_duration_seconds", "route" => route.clone())
        .record(started.elapsed());
    counter!("loyalbatch_http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// The router's fallback: a request no route matched, counted and answered 404.
pub async fn unmatched(uri: axum::http::Uri) -> crate::ApiError {
    let status = StatusCode::NOT_FOUND;
    counter!("loyalbatch_http_requests_total", "method" => "", "route" => "unmatched", "status" => status.as_u16().to_string())
        .increment(1);
    crate::ApiError::new(
        wire::ErrorCode::NotFound,
        format!("no route for {}", uri.path()),
    )
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    app: app::App,
}

/// Serves `GET /metrics` (Prometheus text format) on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    app: app::App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape { handle, app });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(State(s): State<Scrape>) -> Response {
    // The store's gauges are read at each scrape, so they are never stale.
    // A scrape never waits long for a busy database (PostgreSQL: a pool connection).
    let gauges = tokio::time::timeout(std::time::Duration::from_secs(2), s.app.gauges()).await;
    match gauges.unwrap_or_else(|_| Err(store::StoreError::Conflict("timed out".into()))) {
        Ok(g) => {
            gauge!("loyalbatch_items_queued").set(g.queued_items as f64);
            if let Some(pool) = g.pool {
                gauge!("loyalbatch_postgres_pool_connections", "state" => "in_use")
                    .set(pool.in_use as f64);
                gauge!("loyalbatch_postgres_pool_connections", "state" => "idle")
                    .set(pool.idle as f64);
                gauge!("loyalbatch_postgres_pool_max_connections").set(pool.max as f64);
            }
            if let Some(depth) = g.writer_queue {
                gauge!("loyalbatch_sqlite_writer_queue_depth").set(depth as f64);
            }
            gauge!("loyalbatch_store_up").set(1.0);
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading the store's gauges failed");
            gauge!("loyalbatch_store_up").set(0.0);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.handle.render(),
    )
        .into_response()
}
