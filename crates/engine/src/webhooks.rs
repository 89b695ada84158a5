//! The webhook deliverer: claims due deliveries under a lease (any node may),
//! POSTs each signed event to its endpoint, and records the attempts in batches.
//!
//! At least once: an attempt is recorded only after its answer, so a crash
//! between the two sends the event again once the lease lapses. Never two nodes
//! at once: a claim's lease outlasts the attempt's timeout, and a report whose
//! lease token no longer holds is ignored by the store.

use domain::webhooks::{
    EndpointBackoff, RetrySchedule, address_allowed, event_id, literal_address, signature,
};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{
    AttemptReport, AttemptResult, ClaimLimits, DeliveryClaim, WebhookStore, from_millis, to_millis,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Deliveries in flight at once on this node; 0 delivers nothing here.
    pub concurrency: usize,
    /// An attempt not answered with a 2xx within this time failed.
    pub timeout: Duration,
    pub schedule: RetrySchedule,
    /// Deliver to loopback, private and link-local addresses too (tests, closed networks).
    pub allow_private: bool,
    /// How often an idle deliverer looks for due deliveries.
    pub poll_interval: Duration,
    /// Deliveries of one tenant in flight at once (over every node's claims):
    /// one tenant's slow endpoints cannot take every slot.
    pub per_tenant: usize,
    /// Deliveries to one endpoint in flight at once.
    pub per_endpoint: usize,
    /// How an endpoint that keeps failing is paused.
    pub backoff: EndpointBackoff,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            concurrency: 64,
            timeout: Duration::from_secs(10),
            schedule: RetrySchedule::default(),
            allow_private: false,
            poll_interval: Duration::from_millis(200),
            per_tenant: 16,
            per_endpoint: 8,
            backoff: EndpointBackoff::default(),
        }
    }
}

impl DeliveryConfig {
    /// A claim holds this long: twice the attempt's timeout, and 15 s in which
    /// its recording (retried for at most [`RECORD_RETRIES`]) fits (35 s by
    /// default; a crashed node's claims are free again after it).
    fn lease(&self) -> Duration {
        self.timeout
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(15))
    }
}

/// Tries to record a batch of reports (200 ms, then doubling: 3 s in all);
/// after the last, the attempts are made again once their lease lapses.
const RECORD_RETRIES: u32 = 4;
/// Reports recorded in one transaction at most.
const RECORD_BATCH: usize = 256;
/// Bytes of an endpoint's answer read (the rest is dropped with the connection).
const ANSWER_BYTES: usize = 64 * 1024;

pub struct Deliverer {
    store: Arc<dyn WebhookStore>,
    config: DeliveryConfig,
    client: reqwest::Client,
}

/// Resolves endpoint host names, keeping only the addresses deliveries may go
/// to: a name that resolves to a private address is refused at the moment of
/// the call, whatever it resolved to when it was registered.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || address_allowed(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("the host resolves to no public address".into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

impl Deliverer {
    pub fn new(store: Arc<dyn WebhookStore>, config: DeliveryConfig) -> Result<Deliverer, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("loyalbatch-webhooks/", env!("CARGO_PKG_VERSION")))
            // A redirect could lead anywhere (an address literal skips the resolver): a 3xx is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly {
                allow_private: config.allow_private,
            }))
            .connect_timeout(config.timeout)
            .pool_max_idle_per_host(config.concurrency.max(1))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Deliverer {
            store,
            config,
            client,
        })
    }

    /// Delivers until `shutdown`; attempts in flight then finish (within the
    /// timeout) and are recorded before this returns.
    pub async fn run(self, shutdown: CancellationToken) {
        if self.config.concurrency == 0 {
            return;
        }
        let this = Arc::new(self);
        let (reports, received) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(record_loop(
            this.store.clone(),
            received,
            this.config.backoff,
        ));
        let mut in_flight = JoinSet::new();
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            while in_flight.try_join_next().is_some() {}
            let free = this.config.concurrency.saturating_sub(in_flight.len());
            if free == 0 {
                tokio::select! {
                    _ = in_flight.join_next() => {}
                    _ = shutdown.cancelled() => {}
                }
                continue;
            }
            let now = OffsetDateTime::now_utc();
            let count = |n: usize| u32::try_from(n.max(1)).unwrap_or(u32::MAX);
            let limits = ClaimLimits {
                limit: count(free),
                per_tenant: count(this.config.per_tenant),
                per_endpoint: count(this.config.per_endpoint),
            };
            let wait = match this
                .store
                .claim_deliveries(now, this.config.lease(), limits)
                .await
            {
                Ok(claims) if !claims.is_empty() => {
                    failures = 0;
                    for claim in claims {
                        let this = this.clone();
                        let reports = reports.clone();
                        in_flight.spawn(async move {
                            let report = this.attempt(claim).await;
                            let _ = reports.send(report);
                        });
                    }
                    continue;
                }
                Ok(_) => this.config.poll_interval,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    warn!(error = %e, "cannot claim webhook deliveries");
                    this.config.poll_interval.saturating_mul(failures.min(50))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
        drop(reports);
        let _ = recorder.await;
        info!("webhook deliverer stopped");
    }

    /// One attempt: POST the event, signed now; what came of it.
    async fn attempt(&self, claim: DeliveryClaim) -> AttemptReport {
        let started = Instant::now();
        let (status_code, error) = self.send(&claim).await;
        let now = OffsetDateTime::now_utc();
        let result = if error.is_none() {
            AttemptResult::Delivered
        } else {
            let failures = claim.attempts.saturating_add(1);
            let jitter = rand::rng().random_range(0.8..=1.2);
            let next = later(now, self.config.schedule.delay(failures, jitter));
            let give_up_at = later(
                from_millis(claim.created_at),
                self.config.schedule.give_up_after,
            );
            if next > give_up_at {
                AttemptResult::GaveUp
            } else {
                AttemptResult::Retry {
                    next_attempt_at: to_millis(next),
                }
            }
        };
        let label = match result {
            AttemptResult::Delivered => "delivered",
            AttemptResult::Retry { .. } => "retry",
            AttemptResult::GaveUp => "failed",
        };
        crate::metrics::webhook_attempted(label, started.elapsed());
        debug!(
            delivery = claim.id,
            job.id = claim.job_id,
            result = label,
            ?status_code,
            error = error.as_deref(),
            "webhook attempt"
        );
        AttemptReport {
            id: claim.id,
            token: claim.token,
            attempted_at: to_millis(now),
            status_code,
            error,
            result,
        }
    }

    /// The answer's status and, unless it was a 2xx, why the attempt failed.
    async fn send(&self, claim: &DeliveryClaim) -> (Option<u16>, Option<String>) {
        let url = match reqwest::Url::parse(&claim.url) {
            Ok(u) => u,
            Err(e) => return (None, Some(format!("not a URL: {e}"))),
        };
        if let Some(ip) = literal_address(&url)
            && !self.config.allow_private
            && !address_allowed(ip)
        {
            return (None, Some("the address is not public".into()));
        }
        let t = OffsetDateTime::now_utc().unix_timestamp();
        let request = self
            .client
            .post(url)
            .timeout(self.config.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Loyalbatch-Event-Id", event_id(claim.job_id))
            .header(
                "Loyalbatch-Signature",
                signature(&claim.secret, t, claim.payload.as_bytes()),
            )
            .body(claim.payload.clone());
        match request.send().await {
            Ok(mut answer) => {
                let status = answer.status();
                // Read a little of the answer so the connection can be reused.
                let mut read = 0usize;
                while read < ANSWER_BYTES {
                    match answer.chunk().await {
                        Ok(Some(bytes)) => read = read.saturating_add(bytes.len()),
                        Ok(None) | Err(_) => break,
                    }
                }
                if status.is_success() {
                    (Some(status.as_u16()), None)
                } else {
                    (
                        Some(status.as_u16()),
                        Some(format!("answered HTTP {}", status.as_u16())),
                    )
                }
            }
            Err(e) => (None, Some(describe(&e, self.config.timeout))),
        }
    }
}

/// `t + d`, saturating far in the future instead of overflowing.
fn later(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or(time::macros::datetime!(9999-12-31 0:00 UTC))
}

/// Why a request failed, without its URL (it may carry a query the tenant set).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no answer within {}", humanize(timeout))
    } else if e.is_connect() {
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut last = None;
        while let Some(c) = cause {
            last = Some(c.to_string());
            cause = c.source();
        }
        format!(
            "cannot connect{}",
            last.map(|l| format!(": {l}")).unwrap_or_default()
        )
    } else {
        "the request failed".to_owned()
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Records reports in batches: while one batch commits, the next gathers.
async fn record_loop(
    store: Arc<dyn WebhookStore>,
    mut received: mpsc::UnboundedReceiver<AttemptReport>,
    backoff: EndpointBackoff,
) {
    while let Some(first) = received.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match received.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut tries = 0u32;
        loop {
            match store.record_attempts(batch.clone(), backoff).await {
                Ok(()) => break,
                Err(e) if tries < RECORD_RETRIES => {
                    warn!(error = %e, tries, "cannot record webhook attempts; retrying");
                    tokio::time::sleep(Duration::from_millis(200 << tries)).await;
                    tries = tries.saturating_add(1);
                }
                Err(e) => {
                    // Unrecorded attempts are made again once their lease lapses (at least once).
                    warn!(error = %e, attempts = batch.len(), "webhook attempts not recorded; they will be retried");
                    break;
                }
            }
        }
    }
}
