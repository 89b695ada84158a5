//! The hidden `import-child` mode: this binary as a bare import client process (`client::import`), so its memory is the client's alone; prints one JSON line with the summary and its peak RSS.

use anyhow::Result;
use clap::Parser;
use client::{Api, Connection, ImportOptions};
use std::path::PathBuf;
use wire::BatchType;

pub const NAME: &str = "import-child";

#[derive(Parser)]
#[command(name = "import-child", bin_name = "loyalbatch-bench import-child")]
pub struct ImportChild {
    #[arg(long)]
    server: String,
    #[arg(long)]
    apikey: String,
    #[arg(long)]
    secretkey: String,
    #[arg(long)]
    file: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

impl ImportChild {
    pub async fn run(self) -> Result<()> {
        let api = Api::new(&Connection {
            server: self.server,
            api_prefix: crate::serve::API_PATH.into(),
            apikey: self.apikey,
            secretkey: self.secretkey,
        })?;
        let ended = client::import::run(
            api,
            ImportOptions {
                batch_type: BatchType::Customers,
                file: self.file,
                format: None,
                out: self.out,
                chunk_size: 1000,
                chunk_bytes: 4 << 20,
                parallel: self.parallel,
                ahead: 64,
                quiet: true,
            },
        )
        .await?;
        if let Some(e) = ended.stopped {
            return Err(e.context("the import stopped"));
        }
        let summary = ended.summary;
        let rss = crate::rss::of_self()?;
        println!(
            "{}",
            serde_json::json!({
                "rows": summary.rows,
                "succeeded": summary.succeeded,
                "failed": summary.failed,
                "jobs": summary.jobs,
                "peakRssKib": rss.peak_kib,
            })
        );
        Ok(())
    }
}
