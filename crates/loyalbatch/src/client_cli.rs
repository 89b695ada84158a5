//! The client subcommands — `import`, `status`, `stop`, `wait`, `jobs` — over HTTP, against this server or any other of this API.

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use client::input::Format;
use client::{Api, Connection, ImportOptions, commands};
use std::path::PathBuf;
use wire::{BatchType, JobState};

#[derive(Args, Clone)]
pub struct ConnectionArgs {
    /// The server's address.
    #[arg(
        long,
        env = "LOYALBATCH_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    /// The tenant's apikey.
    #[arg(long, env = "LOYALBATCH_APIKEY", global = true, hide_env_values = true)]
    apikey: Option<String>,
    /// The tenant's secret key.
    #[arg(
        long,
        env = "LOYALBATCH_SECRETKEY",
        global = true,
        hide_env_values = true
    )]
    secretkey: Option<String>,
    /// The API's path below the server (other servers of this API may use another version).
    #[arg(
        long,
        env = "LOYALBATCH_API_PREFIX",
        default_value = "/api/v4.0/integrations",
        global = true
    )]
    api_prefix: String,
}

impl ConnectionArgs {
    fn api(&self) -> Result<Api> {
        let missing = |what: &str, env: &str| anyhow!("--{what} (or {env}) is required");
        let connection = Connection {
            server: self.server.clone(),
            api_prefix: self.api_prefix.clone(),
            apikey: self
                .apikey
                .clone()
                .ok_or_else(|| missing("apikey", "LOYALBATCH_APIKEY"))?,
            secretkey: self
                .secretkey
                .clone()
                .ok_or_else(|| missing("secretkey", "LOYALBATCH_SECRETKEY"))?,
        };
        Ok(Api::new(&connection)?)
    }
}

fn batch_type(s: &str) -> Result<BatchType, String> {
    BatchType::parse(s).ok_or_else(|| {
        let all: Vec<&str> = BatchType::ALL.iter().map(|t| t.as_str()).collect();
        format!("unknown batch type '{s}' (one of {})", all.join(", "))
    })
}

fn job_state(s: &str) -> Result<JobState, String> {
    JobState::parse(s).ok_or_else(|| {
        format!("unknown status '{s}' (queued, running, completed, failed, stopped)")
    })
}

fn format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| format!("unknown format '{s}' (json, ndjson, csv)"))
}

#[derive(Args)]
pub struct ImportArgs {
    /// The batch type of every row (customers, events, balance-inquiry, balance-adjustment, cashback, redeem, orders, orders/transactions).
    #[arg(value_parser = batch_type)]
    batch_type: BatchType,
    /// A JSON array, NDJSON, or CSV with a header row.
    file: PathBuf,
    /// Where the results and the resume state go.
    #[arg(long, env = "LOYALBATCH_IMPORT_OUT", default_value = "import-results")]
    out: PathBuf,
    /// The file's format, when its extension does not tell.
    #[arg(long, value_parser = format)]
    format: Option<Format>,
    /// Rows per request.
    #[arg(long, env = "LOYALBATCH_CHUNK_ROWS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    chunk_size: u64,
    /// Bytes per request at most: below the server's body limit (loyalbatch's --max-body-bytes, 16 MiB by default); a server that still answers 413 gets the chunk in halves.
    #[arg(long, env = "LOYALBATCH_CHUNK_BYTES", default_value_t = 4 << 20, value_parser = clap::value_parser!(u64).range(client::MIN_CHUNK_BYTES..=1 << 30))]
    chunk_bytes: u64,
    /// Requests in flight.
    #[arg(long, env = "LOYALBATCH_PARALLEL", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    parallel: u64,
    /// Chunks submitted ahead of the results written (bounds memory and the server's queue).
    #[arg(long, env = "LOYALBATCH_AHEAD", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    ahead: u64,
    /// No progress output (the summary line is still printed).
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Import a file of rows as batch jobs, wait for them, and write per-row results.
    Import(ImportArgs),
    /// A job's status.
    Status {
        job: i64,
        #[arg(long)]
        json: bool,
    },
    /// Stop a queued or running job.
    Stop {
        job: i64,
        #[arg(long)]
        json: bool,
    },
    /// Wait until a job ends (exit 0 when it completed with no failed item, 2 otherwise).
    Wait {
        job: i64,
        #[arg(long)]
        json: bool,
    },
    /// The tenant's jobs, newest first.
    Jobs {
        #[arg(long, value_parser = job_state)]
        status: Option<JobState>,
        #[arg(long = "type", value_parser = batch_type)]
        batch_type: Option<BatchType>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

/// Runs a client command; the process exit code on success.
pub async fn run(connection: &ConnectionArgs, command: ClientCommand) -> Result<i32> {
    let api = connection.api()?;
    match command {
        ClientCommand::Import(args) => {
            let opts = ImportOptions {
                batch_type: args.batch_type,
                file: args.file,
                format: args.format,
                out: args.out.clone(),
                chunk_size: args.chunk_size as usize,
                chunk_bytes: args.chunk_bytes,
                parallel: args.parallel as usize,
                ahead: args.ahead as usize,
                quiet: args.quiet,
            };
            let ended = client::import::run(api, opts)
                .await
                .context("import failed")?;
            println!("{}", ended.summary.line(&args.out));
            Ok(match ended.stopped {
                Some(e) => {
                    eprintln!("Error: the import stopped: {e:#}");
                    1
                }
                None if ended.summary.failed == 0 => 0,
                None => 2,
            })
        }
        ClientCommand::Status { job, json } => commands::status(&api, job, json).await.map(|()| 0),
        ClientCommand::Stop { job, json } => commands::stop(&api, job, json).await.map(|()| 0),
        ClientCommand::Wait { job, json } => Ok(if commands::wait(&api, job, json).await? {
            0
        } else {
            2
        }),
        ClientCommand::Jobs {
            status,
            batch_type,
            limit,
            json,
        } => commands::jobs(&api, status, batch_type, limit, json)
            .await
            .map(|()| 0),
    }
}
