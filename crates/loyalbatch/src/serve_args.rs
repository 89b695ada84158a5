//! The `serve` flags: each with its documented range (refused outside it,
//! naming the flag), what the ranges cannot say checked at start, and the
//! settings of each part built from them.

use crate::DatabaseArgs;
use anyhow::Result;
use clap::Args;
use server::{ConnectionSettings, HttpSettings};
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "LOYALBATCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Jobs processed at the same time by this process (1–256).
    #[arg(long, env = "LOYALBATCH_WORKERS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,
    /// Items per chunk transaction (1–10,000).
    #[arg(long, env = "LOYALBATCH_CHUNK_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub chunk_size: u32,
    /// How long a job claim holds without renewal (1s–1h; renewed every third of it).
    #[arg(long, env = "LOYALBATCH_LEASE", default_value = "30s", value_parser = duration_within::<1_000, 3_600_000>)]
    pub lease: Duration,
    /// How long finished jobs and their results are kept (1min–10years).
    #[arg(long, env = "LOYALBATCH_RETENTION", default_value = "30days", value_parser = duration_within::<60_000, 315_576_000_000>)]
    pub retention: Duration,
    /// How often an idle worker looks for work it was not woken for (10ms–1min).
    #[arg(long, env = "LOYALBATCH_POLL_INTERVAL", default_value = "500ms", value_parser = duration_within::<10, 60_000>)]
    pub poll_interval: Duration,
    /// Objects accepted in one batch request (1–100,000).
    #[arg(long, env = "LOYALBATCH_MAX_BATCH_ITEMS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_batch_items: u32,
    /// Largest accepted request body, in bytes (1 KiB–1 GiB).
    #[arg(long, env = "LOYALBATCH_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..=1 << 30))]
    pub max_body_bytes: u32,
    /// Unprocessed items a tenant may have queued before new batches get 429 (1–10^12).
    #[arg(long, env = "LOYALBATCH_QUEUE_LIMIT", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    pub queue_limit: u64,
    /// The `Retry-After` of a 429 for a full queue (1s–1h).
    #[arg(long, env = "LOYALBATCH_QUEUE_RETRY_AFTER", default_value = "5s", value_parser = duration_within::<1_000, 3_600_000>)]
    pub queue_retry_after: Duration,
    /// Longest wait for a request's head once its first byte arrived (408 beyond; 100ms–5min).
    #[arg(long, env = "LOYALBATCH_HEADER_TIMEOUT", default_value = "10s", value_parser = duration_within::<100, 300_000>)]
    pub header_timeout: Duration,
    /// Longest wait for a request's body once its head arrived (408 beyond; 100ms–1h).
    #[arg(long, env = "LOYALBATCH_BODY_TIMEOUT", default_value = "30s", value_parser = duration_within::<100, 3_600_000>)]
    pub body_timeout: Duration,
    /// How long a kept-alive connection may stay silent between requests (100ms–1h).
    #[arg(long, env = "LOYALBATCH_IDLE_TIMEOUT", default_value = "30s", value_parser = duration_within::<100, 3_600_000>)]
    pub idle_timeout: Duration,
    /// Connections served at once; more get a 503 (`/health` is still answered; 1–1,000,000).
    #[arg(long, env = "LOYALBATCH_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Request body bytes read or processed at once over all requests; beyond, 503 with Retry-After (at least --max-body-bytes, at most 64 GiB).
    #[arg(long, env = "LOYALBATCH_MAX_INFLIGHT_BODY_BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=1 << 36))]
    pub max_inflight_body_bytes: u64,
    /// Longest a response may wait for its client to take more of it (a client that stops reading, an HTTP/2 peer that never opens its window); its connection is then closed (1s–1h).
    #[arg(long, env = "LOYALBATCH_SEND_TIMEOUT", default_value = "30s", value_parser = duration_within::<1_000, 3_600_000>)]
    pub send_timeout: Duration,
    /// Bytes of one connection's responses not yet taken by its client; past it, that connection's new requests get 503 with Retry-After (64 KiB–1 GiB).
    #[arg(long, env = "LOYALBATCH_MAX_UNSENT_BYTES_PER_CONNECTION", default_value_t = 8 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(65_536..=1 << 30))]
    pub max_unsent_bytes_per_connection: u64,
    /// Bytes of all responses not yet taken by their clients on this node; past it, new requests get 503 with Retry-After (at least --max-unsent-bytes-per-connection, at most 64 GiB).
    #[arg(long, env = "LOYALBATCH_MAX_UNSENT_BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(65_536..=1 << 36))]
    pub max_unsent_bytes: u64,
    /// Serve HTTP/2 cleartext (prior knowledge, h2c) beside HTTP/1.1; off by default (behind a proxy it is rarely needed).
    #[arg(long, env = "LOYALBATCH_HTTP2")]
    pub http2: bool,
    /// Streams one HTTP/2 connection may have open at once (1–256).
    #[arg(long, env = "LOYALBATCH_HTTP2_MAX_STREAMS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub http2_max_streams: u32,
    /// Database connections this process keeps: PostgreSQL's pool, or SQLite's readers (2–1,000).
    #[arg(long, env = "LOYALBATCH_DB_POOL", default_value_t = 16, value_parser = clap::value_parser!(u16).range(2..=1000))]
    pub db_pool: u16,
    /// The longest a call waits for a free PostgreSQL connection before it is answered 503 with Retry-After (100ms–1min).
    #[arg(long, env = "LOYALBATCH_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = duration_within::<100, 60_000>)]
    pub db_acquire_timeout: Duration,
    /// The longest a listing (transactions, their count, a customer's history) may read before it is cancelled (100ms–10min).
    #[arg(long, env = "LOYALBATCH_LISTING_TIMEOUT", default_value = "10s", value_parser = duration_within::<100, 600_000>)]
    pub listing_timeout: Duration,
    /// Listings one tenant may run at once; more wait 2 s, then get 429 with Retry-After (1–64).
    #[arg(long, env = "LOYALBATCH_TENANT_LISTINGS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub tenant_listings: u16,
    /// Event streams (`GET /batch/{jobId}/events`, the console's job pages) one tenant may have open at once; more get 429 with Retry-After (1–10,000; keep it well under --max-connections).
    #[arg(long, env = "LOYALBATCH_TENANT_STREAMS", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub tenant_streams: u16,
    /// Console failed-items downloads (CSV, NDJSON) one tenant may have in progress at once; more get 429 with Retry-After (1–64; each holds about one range of 100 items' texts in memory).
    #[arg(long, env = "LOYALBATCH_TENANT_DOWNLOADS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub tenant_downloads: u16,
    /// Failed key checks (wrong secret keys, console logins) per apikey in a minute on this node; past them, 429 with Retry-After until the minute ends (1–10,000).
    #[arg(long, env = "LOYALBATCH_FAILED_CHECKS_PER_APIKEY", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub failed_checks_per_apikey: u16,
    /// Failed key checks per client address in a minute on this node (behind a proxy, the proxy's address; 1–10,000).
    #[arg(long, env = "LOYALBATCH_FAILED_CHECKS_PER_ADDRESS", default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub failed_checks_per_address: u16,
    /// Address of the Prometheus metrics (`GET /metrics`), never the API's; `off` disables them.
    #[arg(
        long,
        env = "LOYALBATCH_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_listen: String,
    /// Label the per-job metrics with the tenant's id (one series per tenant: off by default).
    #[arg(long, env = "LOYALBATCH_METRICS_TENANT_LABEL")]
    pub metrics_tenant_label: bool,
    /// Deliver webhooks to loopback, private and link-local addresses too (tests, closed networks).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// Webhook deliveries in flight at once on this node (0: this node delivers none; at most 4,096).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u16).range(0..=4096))]
    pub webhook_concurrency: u16,
    /// Webhook deliveries of one tenant in flight at once over all nodes (1–4,096): one tenant's slow endpoints cannot take every slot.
    #[arg(long, env = "LOYALBATCH_WEBHOOK_TENANT_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub webhook_tenant_concurrency: u16,
    /// Webhook deliveries to one endpoint in flight at once over all nodes (1–4,096).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_ENDPOINT_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub webhook_endpoint_concurrency: u16,
    /// A webhook delivery not answered with a 2xx within this time failed (100ms–5min).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = duration_within::<100, 300_000>)]
    pub webhook_timeout: Duration,
    /// The wait after a delivery's first failure; it doubles after each one (at most 1 hour), ±20 % (10ms–1h).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_FIRST_RETRY", default_value = "5s", value_parser = duration_within::<10, 3_600_000>)]
    pub webhook_first_retry: Duration,
    /// How long after its event a failing delivery is retried before it is marked failed (1s–365days).
    #[arg(long, env = "LOYALBATCH_WEBHOOK_RETRY_FOR", default_value = "3days", value_parser = duration_within::<1000, 31_536_000_000>)]
    pub webhook_retry_for: Duration,
    /// Mark the console's cookies `Secure` (when it is served over TLS, e.g. behind a proxy).
    #[arg(long, env = "LOYALBATCH_CONSOLE_SECURE_COOKIES")]
    pub console_secure_cookies: bool,
    /// A secret mixed into the console's session signatures (set the same on every node):
    /// without it, whoever can read the database can forge a console session.
    #[arg(long, env = "LOYALBATCH_CONSOLE_KEY", hide_env_values = true)]
    pub console_key: Option<String>,
    /// Take a backup of the SQLite database into this directory on a schedule
    /// (`loyalbatch-TIME.db`, checked and written whole; see `loyalbatch backup`).
    #[arg(long, env = "LOYALBATCH_BACKUP_DIR")]
    pub backup_dir: Option<std::path::PathBuf>,
    /// How often a scheduled backup is taken (1s–30days; with --backup-dir).
    #[arg(long, env = "LOYALBATCH_BACKUP_EVERY", default_value = "1h", value_parser = duration_within::<1_000, 2_592_000_000>)]
    pub backup_every: Duration,
    /// How many scheduled backups are kept: older ones are removed (1–10,000; with --backup-dir).
    #[arg(long, env = "LOYALBATCH_BACKUP_KEEP", default_value_t = 24, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub backup_keep: u16,
    /// apikey of the `default` tenant created on an empty database (generated when unset).
    #[arg(long, env = "LOYALBATCH_DEFAULT_APIKEY", hide_env_values = true)]
    pub default_apikey: Option<String>,
    /// secretkey of the `default` tenant created on an empty database (generated when unset).
    #[arg(long, env = "LOYALBATCH_DEFAULT_SECRETKEY", hide_env_values = true)]
    pub default_secretkey: Option<String>,
}

/// What the flags' own ranges cannot say: how two flags relate, and the
/// console key's strength.
pub fn check_settings(args: &ServeArgs) -> Result<()> {
    if args.max_inflight_body_bytes < u64::from(args.max_body_bytes) {
        anyhow::bail!(
            "--max-inflight-body-bytes ({}) must be at least --max-body-bytes ({}): one body must fit",
            args.max_inflight_body_bytes,
            args.max_body_bytes
        );
    }
    if args.max_unsent_bytes < args.max_unsent_bytes_per_connection {
        anyhow::bail!(
            "--max-unsent-bytes ({}) must be at least --max-unsent-bytes-per-connection ({})",
            args.max_unsent_bytes,
            args.max_unsent_bytes_per_connection
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

impl ServeArgs {
    /// The backup schedule, when `--backup-dir` asks for one.
    pub fn backup_schedule(&self) -> Option<app::BackupSchedule> {
        self.backup_dir.clone().map(|dir| app::BackupSchedule {
            dir,
            every: self.backup_every,
            keep: usize::from(self.backup_keep),
        })
    }

    /// File descriptors the process needs besides its HTTP connections: its
    /// own files, listeners and logs, the database's connections (a SQLite
    /// connection holds up to three files), and the webhook deliveries' sockets.
    pub fn descriptors_kept(&self) -> u64 {
        crate::descriptors::BASE_RESERVE
            + 3 * (u64::from(self.db_pool) + 2)
            + u64::from(self.webhook_concurrency)
    }

    /// The HTTP door's limits, with the connections the descriptors allow.
    pub fn http_settings(&self, budget: crate::descriptors::Budget) -> HttpSettings {
        let bytes = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        HttpSettings {
            max_body_bytes: self.max_body_bytes as usize,
            body_timeout: self.body_timeout,
            max_inflight_body_bytes: bytes(self.max_inflight_body_bytes),
            connections: ConnectionSettings {
                header_timeout: self.header_timeout,
                idle_timeout: self.idle_timeout,
                send_timeout: self.send_timeout,
                max_connections: budget.connections,
                overflow_connections: budget.overflow,
                max_unsent_bytes_per_connection: bytes(self.max_unsent_bytes_per_connection),
                max_unsent_bytes: bytes(self.max_unsent_bytes),
                http2: self.http2,
                http2_max_streams: self.http2_max_streams,
            },
        }
    }
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
