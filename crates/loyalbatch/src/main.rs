//! The one binary: `serve`, `migrate`, `backup` and `restore`, the `tenant` admin commands, and the client commands (`import`, `status`, `stop`, `wait`, `jobs`).
#![forbid(unsafe_code)]

mod backend;
mod backups_cli;
mod client_cli;
mod descriptors;
mod serve_args;
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
use serve_args::{ServeArgs, check_settings};
use server::AppState;
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
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (embedded) or postgres://… (shared by many nodes).
    #[arg(
        long,
        global = true,
        env = "LOYALBATCH_DATABASE_URL",
        default_value = "sqlite://./loyalbatch.db"
    )]
    pub database_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the job workers.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Take a consistent backup of the SQLite database while it serves, check it and say what it holds.
    Backup(backups_cli::BackupArgs),
    /// Replace the SQLite database with a backup (refused while a server has it open).
    Restore(backups_cli::RestoreArgs),
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
            Command::Serve(args) => serve(*args).await,
            Command::Migrate(db) => {
                backend::open(&db.database_url, &backend::Tuning::default()).await?;
                println!("migrations applied");
                Ok(())
            }
            Command::Tenant { db, command } => tenant(&db.database_url, command).await,
            Command::Backup(args) => backups_cli::backup(args).await,
            Command::Restore(args) => backups_cli::restore(args).await,
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
    let backups = args.backup_schedule();
    if let Some(schedule) = &backups {
        app.backups()
            .prepare(schedule)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let backups_app = app.backups().clone();
    ensure_default_tenant(&app, &args).await?;
    let state = AppState::new(
        app.clone(),
        args.http_settings(descriptors::budget(
            args.max_connections,
            args.descriptors_kept(),
        )?),
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
    if let Some(schedule) = backups {
        tokio::spawn(backups_app.run_schedule(schedule, shutdown.clone()));
    }
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

/// The application layer for an admin command on the database at `url`.
pub async fn admin_app(url: &str) -> Result<app::App> {
    let store = backend::open(url, &backend::Tuning::default()).await?;
    // No worker runs here: the engine only gives the layer its settings.
    let engine = Engine::new(store.clone(), EngineConfig::default());
    Ok(app::App::new(store, &engine, app::Settings::default()))
}

/// The admin commands, each one call of the application layer (no workers run).
async fn tenant(url: &str, command: TenantCommand) -> Result<()> {
    let app = admin_app(url).await?;
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
