//! The application layer: one function per action, called by every door — the
//! v4 and v3 HTTP APIs, the operator console and the admin CLI. Each rule that
//! is not the domain's (limits, the queue and its `Retry-After`, idempotency,
//! waking the workers, the metrics, who may read what) is enforced here once;
//! the doors only extract, call and map the answer.
#![forbid(unsafe_code)]

pub mod backups;
mod customers;
mod downloads;
mod error;
mod gate;
pub mod jobs;
pub mod keys;
mod ledger;
pub mod listings;
pub mod metrics;
pub mod paging;
mod tenant_cache;
mod tenants;
mod throttle;
pub mod webhooks;

pub use backups::{Backups, Schedule as BackupSchedule};
pub use customers::{CustomerOverview, Customers};
pub use downloads::FailedItems;
pub use error::{Conflict, Error};
pub use gate::Place;
pub use jobs::{Batch, JobQuery, JobResultsView, Jobs};
pub use ledger::{Call, Ledger};
pub use paging::{Page, PageQuery};
pub use tenant_cache::STALE_AFTER as TENANT_CHANGES_SEEN_WITHIN;
pub use tenants::{Access, NewKeys, Tenants};
pub use webhooks::Webhooks;

use engine::Engine;
use std::sync::Arc;
use std::time::Duration;
use store::{Reachable, Store, StoreError, StoreGauges};

/// The rules' settings (the server's flags that are not about HTTP).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Objects per batch request (SPEC §2, default 1,000).
    pub max_batch_items: usize,
    /// Unprocessed items a tenant may have queued (default 1,000,000).
    pub queue_limit: u64,
    /// The `Retry-After` of a 429 for a full queue.
    pub queue_retry_after: Duration,
    /// Webhook endpoints may be loopback, private or link-local addresses.
    pub webhook_allow_private: bool,
    /// Listings (movements, their count, a customer's history, jobs) one
    /// tenant may run at once; beyond, they wait `listing_wait`, then 429.
    pub tenant_listings: usize,
    pub listing_wait: Duration,
    /// Event streams one tenant may have open at once (429 beyond).
    pub tenant_streams: usize,
    /// Console failed-items downloads one tenant may have in progress at
    /// once (429 beyond).
    pub tenant_downloads: usize,
    /// Failed key checks (API secrets, console logins) allowed per apikey and
    /// per client address in a minute; past them, 429 until the minute ends.
    pub failed_checks_per_apikey: u32,
    pub failed_checks_per_address: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_batch_items: 1000,
            queue_limit: 1_000_000,
            queue_retry_after: Duration::from_secs(5),
            webhook_allow_private: false,
            tenant_listings: 4,
            listing_wait: Duration::from_secs(2),
            tenant_streams: 100,
            tenant_downloads: 4,
            failed_checks_per_apikey: 10,
            failed_checks_per_address: 50,
        }
    }
}

/// Why the node is not ready: a `reason` an operator can act on when there is
/// one (it may be shown); the cause is for the log.
#[derive(Debug, thiserror::Error)]
#[error("{cause}")]
pub struct NotReady {
    pub reason: Option<&'static str>,
    cause: String,
}

/// The handle every door holds (cheap to clone): each part holds the narrow
/// store role it needs.
#[derive(Clone)]
pub struct App {
    jobs: Jobs,
    backups: Backups,
    ledger: Ledger,
    customers: Customers,
    webhooks: Webhooks,
    tenants: Tenants,
    probe: Arc<dyn Reachable>,
    settings: Arc<Settings>,
}

impl App {
    /// The application layer over `store`, beside this node's `engine`: a job
    /// created wakes its workers, and a job stopped is kept as long as the
    /// engine keeps the jobs it ends (the admin CLI passes an engine it never runs).
    pub fn new(store: Arc<dyn Store>, engine: &Engine, settings: Settings) -> App {
        let settings = Arc::new(settings);
        let listings = gate::TenantGate::new(settings.tenant_listings, settings.listing_wait);
        let tenants: Arc<dyn store::TenantStore> =
            Arc::new(tenant_cache::CachedTenants::new(store.clone()));
        App {
            backups: Backups::new(store.clone()),
            jobs: Jobs::new(
                store.clone(),
                engine.waker(),
                engine.config().retention,
                settings.clone(),
                listings.clone(),
            ),
            ledger: Ledger::new(store.clone(), tenants.clone(), listings.clone()),
            customers: Customers::new(store.clone(), tenants.clone(), listings),
            webhooks: Webhooks::new(store.clone(), settings.clone()),
            tenants: Tenants::new(
                tenants,
                throttle::Throttle::new(
                    settings.failed_checks_per_apikey,
                    settings.failed_checks_per_address,
                    Duration::from_secs(60),
                ),
            ),
            probe: store,
            settings,
        }
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// Single calls that move points, and what they read.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn customers(&self) -> &Customers {
        &self.customers
    }

    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }

    pub fn tenants(&self) -> &Tenants {
        &self.tenants
    }

    /// Online backups of the database (SQLite; PostgreSQL names its own tools).
    pub fn backups(&self) -> &Backups {
        &self.backups
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the database answers and takes writes (`/ready`).
    pub async fn ready(&self) -> Result<(), NotReady> {
        self.probe.ping().await.map_err(|e| NotReady {
            reason: matches!(e, StoreError::StorageFull).then_some("the database's disk is full"),
            cause: e.to_string(),
        })
    }

    /// What the metrics show of the store at a scrape.
    pub async fn gauges(&self) -> Result<StoreGauges, StoreError> {
        self.probe.gauges().await
    }
}
