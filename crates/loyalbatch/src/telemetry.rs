//! What the process tells operators: logs on stderr (text or JSON lines) and
//! Prometheus metrics on their own address.

use anyhow::{Context, Result};

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

/// Installs the Prometheus recorder and serves `/metrics` on `listen` (`off`:
/// nothing is recorded or served). Answers the address it serves on.
pub async fn serve_metrics(
    listen: &str,
    app: app::App,
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
    let handle = server::metrics::install_recorder().context("installing the metrics recorder")?;
    // Histograms keep their samples until upkeep folds them: run it even when
    // nobody scrapes, so memory stays bounded.
    let upkeep = handle.clone();
    let upkeep_stop = shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = tick.tick() => upkeep.run_upkeep(),
                _ = upkeep_stop.cancelled() => return,
            }
        }
    });
    tokio::spawn(async move {
        let stop = async move { shutdown.cancelled().await };
        if let Err(e) = server::metrics::serve(listener, handle, app, stop).await {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    });
    Ok(Some(addr))
}
