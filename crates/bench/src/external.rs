//! A `loyalbatch serve` process of any build (`--server-binary`): the real
//! binary as users run it, so two builds can be measured alternately in one
//! sitting. It gets known keys for its first tenant, no metrics listener, and
//! a database of the run's own.

use crate::rss;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub const APIKEY: &str = "bench-apikey-0123456789";
pub const SECRET: &str = "bench-secret-0123456789abcdef0123456789";
const API_PATH: &str = "/api/v4.0/integrations";

/// How long the server may take to answer `/health`.
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct External {
    child: Child,
    pid: u32,
    pub authority: String,
}

impl External {
    /// Starts `binary serve` on `database` (a SQLite path or a postgres:// URL).
    pub async fn spawn(binary: &Path, database: &str) -> Result<External> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = if database.starts_with("postgres") {
            database.to_owned()
        } else {
            format!("sqlite://{database}")
        };
        let authority = format!("127.0.0.1:{port}");
        let mut child = Command::new(binary)
            .args(["serve", "--listen", &authority])
            .env("LOYALBATCH_DATABASE_URL", &url)
            .env("LOYALBATCH_DEFAULT_APIKEY", APIKEY)
            .env("LOYALBATCH_DEFAULT_SECRETKEY", SECRET)
            .env("LOYALBATCH_METRICS_LISTEN", "off")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let health = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{} exited ({status}) before answering /health",
                    binary.display()
                );
            }
            let answered = health
                .get(format!("http://{authority}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if answered {
                break;
            }
            if started.elapsed() > START_DEADLINE {
                bail!("{} did not answer /health in time", binary.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(External {
            child,
            pid,
            authority,
        })
    }

    /// The API's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}{API_PATH}", self.authority)
    }

    pub fn base_path(&self) -> &'static str {
        API_PATH
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn memory(&self) -> Result<rss::Sample> {
        rss::of_process(self.pid)
    }

    pub async fn kill(mut self) -> Result<()> {
        self.child.kill().await.context("killing the server")
    }
}
