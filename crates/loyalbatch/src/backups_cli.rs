//! `loyalbatch backup` and `loyalbatch restore`: the embedded database copied
//! out while it serves, and put back while nothing has it open.

use crate::{DatabaseArgs, backend};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use store::BackupContents;

#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// The backup file to write (must not exist; written whole or not at all).
    #[arg(long)]
    to: PathBuf,
    /// Print what the backup holds as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A backup written by `loyalbatch backup` or `serve --backup-dir`.
    file: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
    /// Print what was restored as one JSON object.
    #[arg(long)]
    json: bool,
}

/// One call of the application layer (no workers run).
pub async fn backup(args: BackupArgs) -> Result<()> {
    let app = crate::admin_app(&args.db.database_url).await?;
    let contents = app
        .backups()
        .take(&args.to)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.json {
        let mut v = json(&contents);
        v["file"] = args.to.display().to_string().into();
        println!("{v}");
    } else {
        println!("backup written: {}", args.to.display());
        print_contents(&contents);
    }
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> Result<()> {
    let restored = backend::restore(&args.db.database_url, &args.file).await?;
    if args.json {
        let mut v = json(&restored.contents);
        v["replaced"] = restored
            .replaced
            .as_ref()
            .map(|p| p.display().to_string())
            .into();
        println!("{v}");
    } else {
        println!(
            "restored {} into {}",
            args.file.display(),
            args.db.database_url
        );
        print_contents(&restored.contents);
        if let Some(replaced) = restored.replaced {
            println!("the database it replaced is kept as {}", replaced.display());
        }
    }
    Ok(())
}

fn json(c: &BackupContents) -> serde_json::Value {
    serde_json::json!({
        "bytes": c.bytes,
        "schemaVersion": c.schema_version,
        "tenants": c.tenants,
        "customers": c.customers,
        "movements": c.movements,
        "jobs": c.jobs,
        "unfinishedJobs": c.unfinished_jobs,
    })
}

fn print_contents(c: &BackupContents) {
    println!(
        "  {} bytes, schema V{}: {} tenants, {} customers, {} movements, {} jobs",
        c.bytes, c.schema_version, c.tenants, c.customers, c.movements, c.jobs
    );
    if c.unfinished_jobs > 0 {
        println!(
            "  {} jobs were queued or running: a server started on the restored database resumes them from their cursors",
            c.unfinished_jobs
        );
    }
}
