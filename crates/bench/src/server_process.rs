//! The parent's handle on a `serve-child` process: spawn it, read its address and keys, sample its memory and CPU, kill it.

use crate::api::Api;
use crate::cpu::Stopwatch;
use crate::rss;
use crate::serve::API_PATH;
use crate::serve_child::{DB_VAR, READY, ServeChild};
use anyhow::{Context, Result, bail};
use engine::EngineConfig;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// How long a child may take to open its database and listen.
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct ServerProcess {
    child: Child,
    pid: u32,
    base_url: String,
    apikey: String,
    secret: String,
    /// Held open: the child exits on its own once this closes.
    _stdin: ChildStdin,
}

impl ServerProcess {
    /// Runs this binary as `serve-child` on `db` (a SQLite path or a postgres:// URL),
    /// with the engine's workers or without, and waits until it listens.
    pub async fn spawn(db: &str, config: &EngineConfig, engine: bool) -> Result<ServerProcess> {
        let exe = std::env::current_exe().context("locating the benchmark binary")?;
        let mut child = Command::new(exe)
            .args(ServeChild::args(config, engine))
            .env(DB_VAR, db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the serve-child process")?;
        let pid = child.id().context("the serve-child exited at once")?;
        let stdin = child.stdin.take().context("no stdin pipe")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut line = String::new();
        tokio::time::timeout(START_DEADLINE, BufReader::new(stdout).read_line(&mut line))
            .await
            .context("the serve-child did not listen in time")??;
        let (base_url, apikey, secret) = match line.split_whitespace().collect::<Vec<_>>()[..] {
            [READY, url, apikey, secret] => (format!("{url}{API_PATH}"), apikey, secret),
            _ => bail!("the serve-child answered {line:?} instead of its address and keys"),
        };
        Ok(ServerProcess {
            pid,
            base_url,
            apikey: apikey.to_owned(),
            secret: secret.to_owned(),
            child,
            _stdin: stdin,
        })
    }

    /// The server's `host:port` and the API's base path.
    pub fn address(&self) -> Result<(String, String)> {
        let rest = self
            .base_url
            .strip_prefix("http://")
            .context("the serve-child's address is not http://")?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok((authority.to_owned(), format!("/{path}")))
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn apikey(&self) -> &str {
        &self.apikey
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// A client calling this server as the benchmark tenant.
    pub fn api(&self) -> Result<Api> {
        Api::new(&self.base_url, &self.apikey, &self.secret)
    }

    /// The child's resident memory now and its peak since it started.
    pub fn memory(&self) -> Result<rss::Sample> {
        rss::of_process(self.pid)
    }

    /// A stopwatch counting the child's CPU time.
    pub fn stopwatch(&self) -> Result<Stopwatch> {
        Stopwatch::of_process(self.pid)
    }

    /// SIGKILL, then reap (every acknowledged job is already durable).
    pub async fn kill(mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the serve-child had already exited ({status})");
        }
        self.child.kill().await.context("killing the serve-child")
    }
}
