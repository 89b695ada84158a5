//! The hidden `serve-child` mode: this binary as a bare server process (no client, no generated data), so its memory is the server's alone.

use crate::backend::open_store;
use crate::serve::{Served, tenant_keys};
use anyhow::Result;
use clap::Parser;
use engine::EngineConfig;
use std::io::Write;
use tokio::io::AsyncReadExt;

/// The first argument that selects this mode (`loyalbatch-bench serve-child …`).
pub const NAME: &str = "serve-child";

/// The first word of the one line printed once the server listens:
/// `listening http://ADDR APIKEY SECRETKEY`.
pub const READY: &str = "listening";

/// The environment variable that hands the child its database (kept off the command
/// line, where a PostgreSQL URL's password would show in `ps`).
pub const DB_VAR: &str = "LOYALBATCH_BENCH_CHILD_DB";

/// Serves the benchmark's API from the database at `--db` until killed (or until
/// standard input closes, so that a child outlives no parent).
#[derive(Parser)]
#[command(name = "serve-child", bin_name = "loyalbatch-bench serve-child")]
pub struct ServeChild {
    /// SQLite database file or postgres:// URL (given the benchmark tenant when it has none).
    #[arg(long, env = DB_VAR, hide_env_values = true)]
    db: String,
    /// Engine workers (jobs processed at the same time).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    workers: u64,
    /// Items per chunk transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    chunk_size: u32,
    /// Do not start the engine's workers: submitted jobs stay queued.
    #[arg(long)]
    no_engine: bool,
}

impl ServeChild {
    /// The arguments for a child (its database goes in [`DB_VAR`]).
    pub fn args(config: &EngineConfig, engine: bool) -> Vec<String> {
        let mut args = vec![
            NAME.to_owned(),
            "--workers".to_owned(),
            config.workers.to_string(),
            "--chunk-size".to_owned(),
            config.chunk_size.to_string(),
        ];
        if !engine {
            args.push("--no-engine".to_owned());
        }
        args
    }

    pub async fn run(self) -> Result<()> {
        let config = EngineConfig {
            workers: self.workers as usize,
            chunk_size: self.chunk_size,
            ..EngineConfig::default()
        };
        let mut served = Served::start(open_store(&self.db).await?, config).await?;
        let (apikey, secret) = tenant_keys(&*served.store).await?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{READY} http://{} {apikey} {secret}", served.addr)?;
            out.flush()?;
        }
        // Workers start only after the line is out, so the parent's clock (started on
        // reading it) misses none of their work.
        if !self.no_engine {
            served.start_engine();
        }
        // Standard input never carries data: end of file means the parent is gone.
        let mut sink = [0u8; 64];
        let mut stdin = tokio::io::stdin();
        while stdin.read(&mut sink).await? > 0 {}
        served.stop().await
    }
}
