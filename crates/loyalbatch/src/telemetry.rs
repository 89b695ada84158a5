//! What the process tells operators: logs on stderr (text or JSON lines) and
//! Prometheus metrics on their own address.

use anyhow::{Context, Result};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use std::sync::Arc;
use store::Store;

/// Logs go to stderr: `LOYALBATCH_LOG` filters them (tracing `EnvFilter`),
/// `LOYALBATCH_LOG_FORMAT=json` writes one JSON object per line, and colour codes
/// are used only when stderr is a terminal (never in files or collectors).
pub fn init_logs() -> Result<()> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOYALBATCH_LOG")
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match std::env::var("LOYALBATCH_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => anyhow::bail!("LOYALBATCH_LOG_FORMAT must be text or json, not {other:?}"),
    }
    Ok(())
}

/// Durations: from a millisecond to a minute.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Items per chunk: up to the largest `--chunk-size`.
const ITEMS_BUCKETS: &[f64] = &[
    1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0,
];

/// Installs the Prometheus recorder and serves `/metrics` on `listen` (`off`:
/// nothing is recorded or served). Answers the address it serves on.
pub async fn serve_metrics(
    listen: &str,
    store: Arc<dyn Store>,
    shutdown: engine::Shutdown,
) -> Result<Option<std::net::SocketAddr>> {
    if listen == "off" {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot serve metrics on {listen} (--metrics-listen; `off` disables them)")
        })?;
    let addr = listener.local_addr()?;
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("loyalbatch_chunk_items".into()),
            ITEMS_BUCKETS,
        )?
        .install_recorder()
        .context("installing the metrics recorder")?;
    engine::metrics::describe();
    server::metrics::describe();
    tokio::spawn(async move {
        let stop = async move { shutdown.cancelled().await };
        if let Err(e) = server::metrics::serve(listener, handle, store, stop).await {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    });
    Ok(Some(addr))
}
