//! `loyalbatch-bench`: measures the Batch API end to end against a raw baseline (SQLite upserts or PostgreSQL COPY) and the single-call path, and prints the figures.
#![forbid(unsafe_code)]

mod api;
mod backend;
mod chart;
mod cpu;
mod external;
mod import_bench;
mod import_child;
mod instance;
mod ledger;
mod machine;
mod pg;
mod phases;
mod raw_writes;
mod report;
mod rss;
mod serve;
mod serve_child;
mod server_process;
mod single_bench;
mod stats;
mod streams_bench;
mod webhooks_bench;
mod workload;

use anyhow::{Context, Result};
use backend::Backend;
use clap::{Parser, ValueEnum};
use engine::EngineConfig;
use report::{BackendInfo, Baseline, Report, Settings};
use serve_child::ServeChild;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// mimalloc: the chunk loop allocates and frees many small JSON values; glibc's
/// allocator spent about a third of the engine's time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "loyalbatch-bench",
    about = "End-to-end benchmark of loyalbatch: batch vs a raw baseline vs single calls, on fresh temporary databases"
)]
struct Cli {
    /// What to submit.
    #[arg(value_enum, default_value_t = Workload::Customers)]
    workload: Workload,
    /// Customers submitted through the Batch API (and upserted raw for the baseline).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    items: u64,
    /// Batch requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    connections: u64,
    /// Customers upserted one call at a time through `POST /customers`.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    single_calls: u64,
    /// Engine workers (jobs processed at the same time).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    workers: u64,
    /// Items per chunk transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    chunk_size: u32,
    /// Jobs of 1,000 items queued in a separate server process with no worker running (memory phase).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    queued_jobs: u64,
    /// Benchmark PostgreSQL: a postgres:// URL naming an admin database on the server,
    /// on which each phase creates a throwaway database (and drops it after). Without
    /// it, SQLite on temporary files.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// `ledger`: existing customers of the main run.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    customers: u64,
    /// `ledger`: existing customers of the large run.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    large_customers: u64,
    /// `webhooks`: one-item jobs whose deliveries are timed.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    events: u64,
    /// `streams`: event streams open while the jobs are processed (spread over them).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=900))]
    streams: u64,
    /// `webhooks`, `streams`, `single`: rounds of the comparison.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// `single`: connections calling at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    callers: u64,
    /// `single`: run this `loyalbatch` binary's `serve` as the server (to
    /// measure two builds alternately) instead of this benchmark's own.
    #[arg(long, value_name = "PATH")]
    server_binary: Option<std::path::PathBuf>,
    /// `single`: seconds each call is driven per round (after a second of warm-up).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// `chart`: the SVG file to write.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// `chart`: the chart's title.
    #[arg(long, default_value = "")]
    title: String,
    /// `chart`: a metric, `NAME=/json/pointer` or `NAME=/json/pointer>=TARGET` (repeatable).
    #[arg(long = "metric", value_name = "NAME=POINTER")]
    chart_metrics: Vec<String>,
    /// `chart`: a series, `LABEL=FILE[,FILE…]` of `--json` outputs (1 to 4).
    #[arg(value_name = "LABEL=FILES")]
    series: Vec<String>,
    /// Print the figures as one JSON object instead of the report.
    #[arg(long)]
    json: bool,
    /// Record the server's and engine's metrics in a Prometheus recorder, as
    /// `serve` does (to measure what they cost: compare with and without).
    #[arg(long)]
    metrics: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Workload {
    /// Customer upserts (`POST /batch/customers`).
    Customers,
    /// Cashback, redeem and balance-inquiry batches over existing customers.
    Ledger,
    /// A customers CSV of `--items` rows through `loyalbatch import` (a separate client process).
    Import,
    /// Batch throughput with webhooks on vs off, and webhook deliveries per second.
    Webhooks,
    /// Batch throughput with `--streams` event streams open on the jobs vs none.
    Streams,
    /// Single calls under `--callers` connections (balance reads, cashback
    /// writes) ÷ `GET /health` of the same server in the same round.
    Single,
    /// An SVG chart of `--json` runs (`--out`, `--metric`, series `LABEL=FILES`).
    Chart,
}

/// The engine as `--workers` and `--chunk-size` ask.
fn engine_config(cli: &Cli) -> EngineConfig {
    EngineConfig {
        workers: cli.workers as usize,
        chunk_size: cli.chunk_size,
        ..EngineConfig::default()
    }
}

/// The `single` workload as the flags ask.
async fn single(cli: &Cli, date: String) -> Result<()> {
    let backend = Backend::from_url(cli.database_url.as_deref())?;
    let settings = single_bench::SingleSettings {
        connections: cli.callers as usize,
        server_binary: cli.server_binary.clone(),
        seconds: cli.seconds,
        rounds: cli.rounds as usize,
        config: engine_config(cli),
    };
    single_bench::run(&backend, settings, cli.json, date).await
}

#[tokio::main]
async fn main() -> Result<()> {
    // `serve-child` (hidden, not in --help): phase 4's separate server process.
    let args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == serve_child::NAME) {
        return ServeChild::parse_from(&args[1..]).run().await;
    }
    if args.get(1).is_some_and(|a| a == import_child::NAME) {
        return import_child::ImportChild::parse_from(&args[1..])
            .run()
            .await;
    }
    let cli = Cli::parse_from(args);
    if cli.metrics {
        server::metrics::install_recorder()?;
    }
    let date = OffsetDateTime::now_utc().format(&Rfc3339)?;
    if let Workload::Import = cli.workload {
        let backend = Backend::from_url(cli.database_url.as_deref())?;
        let config = engine_config(&cli);
        return import_bench::run(
            &backend,
            cli.items as usize,
            cli.connections as usize,
            config,
            cli.json,
            date,
        )
        .await;
    }
    if let Workload::Webhooks = cli.workload {
        let backend = Backend::from_url(cli.database_url.as_deref())?;
        let settings = webhooks_bench::WebhookSettings {
            items: cli.items as usize,
            connections: cli.connections as usize,
            events: cli.events as usize,
            rounds: cli.rounds as usize,
            config: engine_config(&cli),
        };
        return webhooks_bench::run(&backend, settings, date).await;
    }
    if let Workload::Streams = cli.workload {
        let backend = Backend::from_url(cli.database_url.as_deref())?;
        let settings = streams_bench::StreamSettings {
            items: cli.items as usize,
            connections: cli.connections as usize,
            streams: cli.streams as usize,
            rounds: cli.rounds as usize,
            config: engine_config(&cli),
        };
        return streams_bench::run(&backend, settings, date).await;
    }
    if let Workload::Single = cli.workload {
        return single(&cli, date).await;
    }
    if let Workload::Chart = cli.workload {
        let out = cli.out.as_deref().context("chart: --out FILE.svg")?;
        return chart::run(&cli.title, &cli.chart_metrics, &cli.series, out);
    }
    if let Workload::Ledger = cli.workload {
        let backend = Backend::from_url(cli.database_url.as_deref())?;
        let settings = ledger::LedgerSettings {
            customers: cli.customers as usize,
            large: cli.large_customers as usize,
            items: cli.items as usize,
            connections: cli.connections as usize,
            config: engine_config(&cli),
        };
        return ledger::run(settings, &backend, cli.json, date).await;
    }
    let backend = Backend::from_url(cli.database_url.as_deref())?;
    let settings = Settings {
        workload: match cli.workload {
            Workload::Customers => "customers",
            Workload::Ledger
            | Workload::Import
            | Workload::Webhooks
            | Workload::Streams
            | Workload::Single
            | Workload::Chart => {
                unreachable!("handled above")
            }
        },
        items: cli.items as usize,
        connections: cli.connections as usize,
        single_calls: cli.single_calls as usize,
        workers: cli.workers as usize,
        chunk_size: cli.chunk_size,
        queued_jobs: cli.queued_jobs as usize,
    };
    let config = EngineConfig {
        workers: settings.workers,
        chunk_size: settings.chunk_size,
        ..EngineConfig::default()
    };
    let server = match &backend {
        Backend::Postgres(server) => Some(server.describe().await?),
        Backend::Sqlite => None,
    };
    let (items, connections) = (settings.items, settings.connections);
    let phases = if server.is_some() { 5 } else { 4 };

    // Progress goes to stderr so stdout carries only the report.
    let name = backend.name();
    eprintln!("1/{phases} batch end to end on {name} ({items} items)…");
    let batch = phases::batch::run(&backend, 1, items, connections, config.clone()).await?;
    let baseline = match &backend {
        Backend::Sqlite => {
            eprintln!("2/{phases} raw rusqlite baseline ({items} rows)…");
            Baseline::Raw(phases::raw::run(items).await?)
        }
        Backend::Postgres(server) => {
            eprintln!("2/{phases} raw binary COPY baseline ({items} rows)…");
            Baseline::Copy(phases::copy::run(server, items).await?)
        }
    };
    eprintln!("3/{phases} single calls ({})…", settings.single_calls);
    let single = phases::single::run(&backend, settings.single_calls, config.clone()).await?;
    eprintln!(
        "4/{phases} queued jobs ({}), in a separate server process…",
        settings.queued_jobs
    );
    let queued =
        phases::queued::run(&backend, settings.queued_jobs, connections, config.clone()).await?;
    let two_nodes = match backend {
        Backend::Postgres(_) => {
            eprintln!("5/{phases} two nodes on one database ({items} items)…");
            Some(phases::batch::run(&backend, 2, items, connections, config).await?)
        }
        Backend::Sqlite => None,
    };
    // Read last: phase 4's servers ran in their own processes, so this peak is the
    // in-process servers (client and server) plus phase 4's client.
    let bench_peak_rss_kib = rss::of_self()?.peak_kib;

    let report = Report {
        date,
        machine: machine::describe(),
        backend: BackendInfo { name, server },
        settings,
        batch,
        baseline,
        single,
        queued,
        two_nodes,
        bench_peak_rss_kib,
    };
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        println!("{}", report.text());
    }
    Ok(())
}
