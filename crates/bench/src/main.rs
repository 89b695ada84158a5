//! `loyalbatch-bench`: measures the Batch API end to end against raw SQLite and the single-call path, and prints the figures.
#![forbid(unsafe_code)]

mod api;
mod cpu;
mod instance;
mod machine;
mod phases;
mod report;
mod rss;
mod serve;
mod serve_child;
mod server_process;
mod stats;
mod workload;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use engine::EngineConfig;
use report::{Report, Settings};
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
    about = "End-to-end benchmark of loyalbatch: batch vs raw SQLite vs single calls, on fresh temporary databases"
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
    /// Print the figures as one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Workload {
    /// Customer upserts (`POST /batch/customers`).
    Customers,
}

#[tokio::main]
async fn main() -> Result<()> {
    // `serve-child` (hidden, not in --help): phase 4's separate server process.
    let args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == serve_child::NAME) {
        return ServeChild::parse_from(&args[1..]).run().await;
    }
    let cli = Cli::parse_from(args);
    let settings = Settings {
        workload: match cli.workload {
            Workload::Customers => "customers",
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
    let date = OffsetDateTime::now_utc().format(&Rfc3339)?;

    // Progress goes to stderr so stdout carries only the report.
    eprintln!("1/4 batch end to end ({} items)…", settings.items);
    let batch = phases::batch::run(settings.items, settings.connections, config.clone()).await?;
    eprintln!("2/4 raw rusqlite baseline ({} rows)…", settings.items);
    let raw = phases::raw::run(settings.items).await?;
    eprintln!("3/4 single calls ({})…", settings.single_calls);
    let single = phases::single::run(settings.single_calls, config.clone()).await?;
    eprintln!(
        "4/4 queued jobs ({}), in a separate server process…",
        settings.queued_jobs
    );
    let queued = phases::queued::run(settings.queued_jobs, settings.connections, config).await?;
    // Read last: phase 4's servers ran in their own processes, so this peak is
    // phases 1–3 (client and server) plus phase 4's client.
    let bench_peak_rss_kib = rss::of_self()?.peak_kib;

    let report = Report {
        date,
        machine: machine::describe(),
        settings,
        batch,
        raw,
        single,
        queued,
        bench_peak_rss_kib,
    };
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        println!("{}", report.text());
    }
    Ok(())
}
