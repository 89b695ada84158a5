//! The one binary: `serve`, `migrate`, the `tenant` admin commands, and the client commands (`import`, `status`, `stop`, `wait`, `jobs`).
#![forbid(unsafe_code)]

mod backend;
mod client_cli;
mod telemetry;
mod tenant_config;
mod tenant_webhooks;

/// mimalloc: the chunk loop allocates and frees many small JSON values; glibc's
/// allocator spent about a third of the engine's time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use domain::webhooks::RetrySchedule;
use engine::webhooks::{Deliverer, DeliveryConfig};
use engine::{Engine, EngineConfig, Shutdown};
use server::{AppState, ConnectionSettings, HttpSettings};
use std::time::Duration;
use tracing::info;

#[derive(Parser)]
#[command(
    name = "loyalbatch",
    version,
    about = "Self-hosted loyalty-points engine with a Gameball-compatible Batch API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    connection: client_cli::ConnectionArgs,
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// Database URL: sqlite://PATH (embedded) or postgres://… (shared by many nodes).
    #[arg(
        long,
        global = true,
        env = "LOYALBATCH_DATABASE_URL",
        default_value = "sqlite://./loyalbatch.db"
    )]
    database_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the job workers.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage tenants (accounts) and their keys.
    Tenant {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Print the API's OpenAPI 3.1 document (what `/api/openapi.json` serves).
    Openapi,
    /// Client commands over HTTP (import, status, stop, wait, jobs).
    #[command(flatten)]
    Client(client_cli::ClientCommand),
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "LOYALBATCH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Jobs processed at the same time by this process (1–256).
    #[arg(long, env = "LOYALBATCH_WORKERS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,
    /// Items per chunk transaction (1–10,000).
    #[arg(long, env = "LOYALBATCH_CHUNK_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    chunk_size: u32,
    /// How long a job claim holds without renewal (1s–1h; renewed every third of it).
    #[arg(long, env = "LOYALBATCH_LEASE", default_value = "30s", value_parser = duration_within::<1_000, 3_600_000>)]
    lease: Duration,
    /// How long finished jobs and their results are kept (1min–10years).
    #[arg(long, env = "LOYALBATCH_RETENTION", default_value = "30days", value_parser = duration_within::<60_000, 315_576_000_000>)]
    retention: Duration,
    /// How often an idle worker looks for work it was not woken for (10ms–1min).
    #[arg(long, env = "LOYALBATCH_POLL_INTERVAL", default_value = "500ms", value_parser = duration_within::<10, 60_000>)]
    poll_interval: Duration,
    /// Objects accepted in one batch request (1–100,000).
    #[arg(long, env = "LOYALBATCH_MAX_BATCH_ITEMS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_batch_items: u32,
    /// Largest accepted request body, in bytes (1 KiB–1 GiB).
    #[arg(long, env = "LOYALBATCH_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..=1 << 30))]
    max_body_bytes: u32,
    /// Unprocessed items a tenant may have queued before new batches get 429 (1–10^12).
    #[arg(long, env = "LOYALBATCH_QUEUE_LIMIT", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    queue_limit: u64,
    /// The `Retry-After` of a 429 for a full queue (1s–1h).
    #[arg(long, env = "LOYALBATCH_QUEUE_RETRY_AFTER", default_value = "5s", value_parser = duration_within::<1_000, 3_600_000>)]
    queue_retry_after: Duration,
    /// Longest wait for a request's head once its first byte arrived (408 beyond; 100ms–5min).
    #[arg(long, env = "LOYALBATCH_HEADER_TIMEOUT", default_value = "10s", value_parser = duration_within::<100, 300_000>)]
    header_timeout: Duration,
    /// Longest wait for a request's body once its head arrived (408 beyond; 100ms–1h).
    #[arg(long, env = "LOYALBATCH_BODY_TIMEOUT", default_value = "30s", value_parser = duration_within::<100, 3_600_000>)]
    body_timeout: Duration,
    /// How long a kept-alive connection may stay silent between requests (100ms–1h).
    #[arg(long, env = "LOYALBATCH_IDLE_TIMEOUT", default_value = "30s", value_parser = duration_within::<100, 3_600_000>)]
    idle_timeout: Duration,
    /// Connections served at once; more get a 503 (`/health` is still answered; 1–1,000,000).
    #[arg(long, env = "LOYALBATCH_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Request body bytes read or processed at once over all requests; beyond, 503 with Retry-After (at least --max-body-bytes, at most 64 GiB).
    #[arg(long, env = "LOYALBATCH_MAX_INFLIGHT_BODY_BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=1 << 36))]
    max_inflight_body_bytes: u64,
    /// PostgreSQL connections this process keeps (2–1,000).
    #[arg(long, env = "LOYALBATCH_DB_POOL", default_value_t = 16, value_parser = clap::value_parser!(u16).range(2..=1000))]
    db_pool: u16,
    /// The longest a call waits for a free PostgreSQL connection before it is answered 503 with Retry-After (100ms–1min).
    #[arg(long, env = "LOYALBATCH_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = duration_within::<100, 60_000>)]
    db_acquire_timeout: Duration,
    /// The longest a listing (transactions, their count, a customer's history) may read before it is cancelled (100ms–10min).
    #[arg(long, env = "LOYALBATCH_LISTING_TIMEOUT", default_value = "10s", value_parser = duration_within::<100, 600_000>)]
    listing_timeout: Duration,
    /// Listings one tenant may run at once; more wait 2 s, then get 429 with Retry-After (1–64).
    #[arg(long, env = "LOYALBATCH_TENANT_LISTINGS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    tenant_listings: u16,
    /// Event streams (`GET /batch/{jobId}/events`, the console's job pages) one tenant may have open at once; more get 429 with Retry-After (1–10,000; keep it well under --max-connections).
    #[arg(long, env = "LOYALBATCH_TENANT_STREAMS", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    tenant_streams: u16,
    /// Console failed-items downloads (CSV, NDJSON) one tenant may have in progress at once; more get 429 with Retry-After (1–64; each holds about one range of 100 items' texts in memory).
    #[arg(long, env = "LOYALBATCH_TENANT_DOWNLOADS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    tenant_downloads: u16,
    /// Failed key checks (wrong secret keys, console logins) per apikey in a minute on this node; past them, 429 with Retry-After until the minute ends (1–10,000).
    #[arg(long, env = "LOYALBATCH_FAILED_CHECKS_PER_APIKEY", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    failed_checks_per_apikey: u16,
    /// Failed key checks per client address in a minute on this node (behind a proxy, the proxy's address; 1–10,000).
    #[arg(long, env = "LOYALBATCH_FAILED_CHECKS_PER_ADDRESS", default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    failed_checks_per_address: u16,
    /// Address of the Prometheus metrics (`GET /metrics`), never the API's; `off` disables them.
    #[arg(
        long,
        env = "LOYALBATCH_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    metrics_listen: String,
    /// Label the per-job metrics with the tenant's id (one series per tenant: off by default).
    #[arg(long, env = "LOYALBATCH_METRICS_TENANT_LABEL")]
    metrics_tenant_label: bool,
    /// Deliver webhooks to loopback, private and link-local addresses too (tests, closed networks).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,
    /// Webhook deliveries in flight at once on this node (0: this node delivers none; at most 4,096).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u16).range(0..=4096))]
    webhook_concurrency: u16,
    /// Webhook deliveries of one tenant in flight at once over all nodes (1–4,096): one tenant's slow endpoints cannot take every slot.
    #[arg(long, env = "LOYALBATCH_WEBHOOK_TENANT_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=4096))]
    webhook_tenant_concurrency: u16,
    /// Webhook deliveries to one endpoint in flight at once over all nodes (1–4,096).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_ENDPOINT_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=4096))]
    webhook_endpoint_concurrency: u16,
    /// A webhook delivery not answered with a 2xx within this time failed.
    #[arg(long, env = "LOYALBATCH_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = duration_within::<100, 300_000>)]
    webhook_timeout: Duration,
    /// The wait after a delivery's first failure; it doubles after each one (at most 1 hour), ±20 %.
    #[arg(long, env = "LOYALBATCH_WEBHOOK_FIRST_RETRY", default_value = "5s", value_parser = duration_within::<10, 3_600_000>)]
    webhook_first_retry: Duration,
    /// How long after its event a failing delivery is retried before it is marked failed.
    #[arg(long, env = "LOYALBATCH_WEBHOOK_RETRY_FOR", default_value = "3days", value_parser = duration_within::<1000, 31_536_000_000>)]
    webhook_retry_for: Duration,
    /// Mark the console's cookies `Secure` (when it is served over TLS, e.g. behind a proxy).
    #[arg(long, env = "LOYALBATCH_CONSOLE_SECURE_COOKIES")]
    console_secure_cookies: bool,
    /// A secret mixed into the console's session signatures (set the same on every node):
    /// without it, whoever can read the database can forge a console session.
    #[arg(long, env = "LOYALBATCH_CONSOLE_KEY", hide_env_values = true)]
    console_key: Option<String>,
    /// apikey of the `default` tenant created on an empty database (generated when unset).
    #[arg(long, env = "LOYALBATCH_DEFAULT_APIKEY", hide_env_values = true)]
    default_apikey: Option<String>,
    /// secretkey of the `default` tenant created on an empty database (generated when unset).
    #[arg(long, env = "LOYALBATCH_DEFAULT_SECRETKEY", hide_env_values = true)]
    default_secretkey: Option<String>,
}

/// What the flags' own ranges cannot say: how two flags relate, and the
/// console key's strength.
fn check_settings(args: &ServeArgs) -> Result<()> {
    if args.max_inflight_body_bytes < u64::from(args.max_body_bytes) {
        anyhow::bail!(
            "--max-inflight-body-bytes ({}) must be at least --max-body-bytes ({}): one body must fit",
            args.max_inflight_body_bytes,
            args.max_body_bytes
        );
    }
    if let Some(key) = &args.console_key {
        app::keys::check_chosen_key(
            "LOYALBATCH_CONSOLE_KEY",
            key,
            app::keys::MIN_SECRETKEY_CHARS,
            app::keys::MIN_DISTINCT_SECRET_CHARS,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

/// A duration from `MIN` to `MAX` milliseconds.
fn duration_within<const MIN: u64, const MAX: u64>(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    let (min, max) = (Duration::from_millis(MIN), Duration::from_millis(MAX));
    if d < min || d > max {
        return Err(format!(
            "must be from {} to {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its keys (the secret is shown only now).
    Create {
        name: String,
        /// Print {"name","apikey","secretkey"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tenants (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replace a tenant's secret key and print the new one.
    RotateSecret {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Show a tenant's program settings, or change the ones given (SPEC §6).
    Config(tenant_config::ConfigArgs),
    /// Manage a tenant's webhook endpoints (what `/webhooks` does over HTTP).
    #[command(subcommand)]
    Webhook(tenant_webhooks::WebhookCommand),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    telemetry::init_logs()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Migrate(db) => {
                backend::open(&db.database_url, &backend::Tuning::default()).await?;
                println!("migrations applied");
                Ok(())
            }
            Command::Tenant { db, command } => tenant(&db.database_url, command).await,
            Command::Openapi => {
                print!("{}", contract::document_text());
                Ok(())
            }
            Command::Client(command) => {
                let code = client_cli::run(&cli.connection, command).await?;
                if code != 0 {
                    std::process::exit(code);
                }
                Ok(())
            }
        }
    })
}

async fn serve(args: ServeArgs) -> Result<()> {
    check_settings(&args)?;
    let tuning = backend::Tuning {
        pool: usize::from(args.db_pool),
        acquire_timeout: args.db_acquire_timeout,
        listing_timeout: args.listing_timeout,
    };
    let store = backend::open(&args.db.database_url, &tuning).await?;
    let engine = Engine::new(
        store.clone(),
        EngineConfig {
            workers: usize::from(args.workers),
            chunk_size: args.chunk_size,
            lease: args.lease,
            poll_interval: args.poll_interval,
            retention: args.retention,
            ..EngineConfig::default()
        },
    );
    let app = app::App::new(
        store.clone(),
        &engine,
        app::Settings {
            max_batch_items: args.max_batch_items as usize,
            queue_limit: args.queue_limit,
            queue_retry_after: args.queue_retry_after,
            webhook_allow_private: args.webhook_allow_private,
            tenant_listings: usize::from(args.tenant_listings),
            tenant_streams: usize::from(args.tenant_streams),
            tenant_downloads: usize::from(args.tenant_downloads),
            failed_checks_per_apikey: u32::from(args.failed_checks_per_apikey),
            failed_checks_per_address: u32::from(args.failed_checks_per_address),
            ..app::Settings::default()
        },
    );
    ensure_default_tenant(&app, &args).await?;
    let state = AppState::new(
        app.clone(),
        HttpSettings {
            max_body_bytes: args.max_body_bytes as usize,
            body_timeout: args.body_timeout,
            max_inflight_body_bytes: usize::try_from(args.max_inflight_body_bytes)
                .unwrap_or(usize::MAX),
            connections: ConnectionSettings {
                header_timeout: args.header_timeout,
                idle_timeout: args.idle_timeout,
                max_connections: connection_limit(args.max_connections),
            },
        },
    );
    let console = console::routes(console::State::new(
        &state,
        console::Settings {
            secure_cookies: args.console_secure_cookies,
            key: args.console_key.clone(),
        },
    ));
    let deliverer = Deliverer::new(
        store,
        DeliveryConfig {
            concurrency: usize::from(args.webhook_concurrency),
            per_tenant: usize::from(args.webhook_tenant_concurrency),
            per_endpoint: usize::from(args.webhook_endpoint_concurrency),
            timeout: args.webhook_timeout,
            schedule: RetrySchedule {
                first: args.webhook_first_retry,
                give_up_after: args.webhook_retry_for,
                ..RetrySchedule::default()
            },
            // One policy: what registration accepts is what delivery may reach.
            allow_private: app.settings().webhook_allow_private,
            ..DeliveryConfig::default()
        },
    )
    .map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let shutdown = Shutdown::new();
    engine::metrics::label_tenants(args.metrics_tenant_label);
    if let Some(metrics) =
        telemetry::serve_metrics(&args.metrics_listen, app, shutdown.clone()).await?
    {
        println!("loyalbatch metrics on http://{metrics}/metrics");
    }
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let engine_task = tokio::spawn(engine.run(shutdown.clone()));
    let deliverer_task = tokio::spawn(deliverer.run(shutdown.clone()));
    println!("loyalbatch listening on http://{addr}");
    info!(%addr, "serving");
    let http_shutdown = shutdown.clone();
    server::launch(listener, state, console, async move {
        http_shutdown.cancelled().await
    })
    .await?;
    engine_task.await?;
    deliverer_task.await?;
    info!("shut down cleanly");
    Ok(())
}

/// File descriptors kept for the database, logs and the listener.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The connections this process can really hold: the file-descriptor limit is
/// raised as far as the system allows, and the configured number is lowered to
/// fit under it (so excess clients get a 503 instead of the listener failing).
fn connection_limit(wanted: u64) -> usize {
    let available = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit.saturating_sub(RESERVED_DESCRIPTORS).max(1),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the file-descriptor limit");
            wanted
        }
    };
    if available < wanted {
        tracing::warn!(
            wanted,
            available,
            "--max-connections lowered to fit the file-descriptor limit"
        );
    }
    usize::try_from(wanted.min(available)).unwrap_or(usize::MAX)
}

async fn cancel_on_signal(shutdown: Shutdown) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => info!("SIGTERM: finishing current chunks"),
        _ = int.recv() => info!("SIGINT: finishing current chunks"),
    }
    shutdown.cancel();
}

async fn ensure_default_tenant(app: &app::App, args: &ServeArgs) -> Result<()> {
    let chosen = match (&args.default_apikey, &args.default_secretkey) {
        (Some(a), Some(s)) => Some((a.clone(), s.clone())),
        (None, None) => None,
        _ => anyhow::bail!(
            "set both LOYALBATCH_DEFAULT_APIKEY and LOYALBATCH_DEFAULT_SECRETKEY, or neither"
        ),
    };
    let generated = chosen.is_none();
    let created = app
        .tenants()
        .create_first(chosen)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(keys) = created {
        info!("created tenant 'default'");
        if generated {
            // Shown once, on standard output, never logged.
            println!("created tenant 'default' (keys are shown only now):");
            println!("  apikey:    {}", keys.apikey);
            println!("  secretkey: {}", keys.secretkey);
        }
    }
    Ok(())
}

/// The admin commands, each one call of the application layer (no workers run).
async fn tenant(url: &str, command: TenantCommand) -> Result<()> {
    let store = backend::open(url, &backend::Tuning::default()).await?;
    // No worker runs here: the engine only gives the layer its settings.
    let engine = Engine::new(store.clone(), EngineConfig::default());
    let app = app::App::new(store, &engine, app::Settings::default());
    let tenants = app.tenants();
    let fail = |e: app::Error| anyhow::anyhow!("{e}");
    match command {
        TenantCommand::Create { name, json } => {
            let keys = tenants.create(&name).await.map_err(fail)?;
            print_keys(&name, Some(&keys.apikey), &keys.secretkey, json);
        }
        TenantCommand::List { json } => {
            let list = tenants.list().await.map_err(fail)?;
            if json {
                let list: Vec<_> = list
                    .iter()
                    .map(|t| serde_json::json!({"name": t.name, "apikey": t.apikey}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for t in list {
                    println!("{}\t{}", t.name, t.apikey);
                }
            }
        }
        TenantCommand::RotateSecret { name, json } => {
            let keys = tenants.rotate_secret(&name).await.map_err(fail)?;
            print_keys(&name, None, &keys.secretkey, json);
        }
        TenantCommand::Config(args) => tenant_config::run(&app, args).await?,
        TenantCommand::Webhook(command) => tenant_webhooks::run(&app, command).await?,
    }
    Ok(())
}

fn print_keys(name: &str, apikey: Option<&str>, secret: &str, json: bool) {
    if json {
        let mut v = serde_json::json!({"name": name, "secretkey": secret});
        if let Some(a) = apikey {
            v["apikey"] = a.into();
        }
        println!("{v}");
    } else {
        println!("tenant:    {name}");
        if let Some(a) = apikey {
            println!("apikey:    {a}");
        }
        println!("secretkey: {secret}   (shown only now)");
    }
}
