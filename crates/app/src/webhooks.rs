//! A tenant's webhook endpoints (register, list, remove) and their deliveries
//! (list, replay), whichever door asks: the API or the admin CLI.

use crate::paging::{Page, PageQuery, Paging};
use crate::{Error, Settings};
use domain::webhooks::{
    EventType, MAX_ENDPOINTS, address_allowed, literal_address, parse_endpoint, secret_from,
};
use std::sync::Arc;
use std::time::Duration;
use store::{
    DeliveryFilter, DeliveryRecord, NewWebhook, StoreError, TenantId, WebhookRecord, WebhookStore,
};
use time::OffsetDateTime;
use wire::{DeliveryList, DeliveryView, ErrorCode, WebhookView};

/// How long registration waits for a host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// An endpoint's deliveries, newest first.
pub const DELIVERIES: Paging = Paging {
    default: 50,
    max: 200,
    cursor: "after",
    what: "a delivery id",
};

/// Checks an endpoint to register: the URL's shape, that its host is public
/// (resolving a name now; deliveries check again at each call) unless
/// `allow_private`, and the events (all three when `None`), each once.
pub async fn check_endpoint(
    url: &str,
    events: Option<&[String]>,
    allow_private: bool,
) -> Result<(String, Vec<EventType>), Error> {
    let parsed = parse_endpoint(url).map_err(|m| Error::invalid(format!("url: {m}")))?;
    if !allow_private {
        let refused = || {
            Error::invalid(
                "url: the host is not a public address (loopback, private, link-local and metadata \
                 addresses are refused unless the server runs with --webhook-allow-private)",
            )
        };
        match literal_address(&parsed) {
            Some(ip) if !address_allowed(ip) => return Err(refused()),
            Some(_) => {}
            None => {
                let host = parsed.host_str().unwrap_or_default().to_owned();
                let port = parsed.port_or_known_default().unwrap_or(443);
                let resolved =
                    tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
                        .await;
                let addrs: Vec<_> = match resolved {
                    Ok(Ok(addrs)) => addrs.collect(),
                    _ => Vec::new(),
                };
                if addrs.is_empty() {
                    return Err(Error::invalid("url: the host name does not resolve"));
                }
                if addrs.iter().any(|a| !address_allowed(a.ip())) {
                    return Err(refused());
                }
            }
        }
    }
    let events = match events {
        None => EventType::ALL.to_vec(),
        Some([]) => return Err(Error::invalid("events: must name at least one event")),
        Some(names) => {
            let mut chosen = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let e = EventType::parse(name).ok_or_else(|| {
                    Error::invalid(format!(
                        "events[{i}]: unknown event '{}' (batch.completed, batch.failed or batch.stopped)",
                        name.chars().take(100).collect::<String>()
                    ))
                })?;
                if !chosen.contains(&e) {
                    chosen.push(e);
                }
            }
            chosen
        }
    };
    Ok((parsed.to_string(), events))
}

/// An endpoint as listed (never its secret).
pub fn view(w: WebhookRecord) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url,
        events: w.events,
        created_at: w.created_at,
    }
}

pub fn delivery_view(d: DeliveryRecord) -> DeliveryView {
    DeliveryView {
        id: d.id,
        event_id: domain::webhooks::event_id(d.job_id),
        event_type: d.event_type,
        job_id: d.job_id,
        status: d.status,
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
        last_attempt_at: d.last_attempt_at,
        next_attempt_at: d.next_attempt_at,
        delivered_at: d.delivered_at,
        created_at: d.created_at,
    }
}

/// An endpoint's id from a path: a positive integer, anything else unknown.
fn webhook_id(key: &str) -> Result<i64, Error> {
    key.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| not_found(key))
}

fn not_found(key: &str) -> Error {
    Error::not_found(format!(
        "webhook {} not found",
        key.chars().take(100).collect::<String>()
    ))
}

#[derive(Clone)]
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
    settings: Arc<Settings>,
}

impl Webhooks {
    pub(crate) fn new(store: Arc<dyn WebhookStore>, settings: Arc<Settings>) -> Webhooks {
        Webhooks { store, settings }
    }

    /// Registers an endpoint (checked as [`check_endpoint`] says, with this
    /// node's address policy) with a new signing secret, shown only now.
    pub async fn register(
        &self,
        tenant: TenantId,
        url: &str,
        events: Option<&[String]>,
    ) -> Result<WebhookRecord, Error> {
        self.register_with(tenant, url, events, false).await
    }

    /// [`Webhooks::register`], also allowing private addresses when
    /// `allow_private` (the admin CLI's `--allow-private`).
    pub async fn register_with(
        &self,
        tenant: TenantId,
        url: &str,
        events: Option<&[String]>,
        allow_private: bool,
    ) -> Result<WebhookRecord, Error> {
        let allow_private = allow_private || self.settings.webhook_allow_private;
        let (url, events) = check_endpoint(url, events, allow_private).await?;
        let webhook = NewWebhook {
            url,
            events,
            secret: secret_from(rand::random()),
        };
        self.store
            .create_webhook(tenant, webhook, MAX_ENDPOINTS, OffsetDateTime::now_utc())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => {
                    Error::refused(ErrorCode::LimitExceeded, format!("{m}; remove one first"))
                }
                other => other.into(),
            })
    }

    /// The tenant's endpoints, oldest first.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<WebhookRecord>, Error> {
        Ok(self.store.webhooks(tenant).await?)
    }

    /// Removes an endpoint and its deliveries.
    pub async fn remove(&self, tenant: TenantId, key: &str) -> Result<i64, Error> {
        let id = webhook_id(key)?;
        if !self.store.delete_webhook(tenant, id).await? {
            return Err(not_found(key));
        }
        Ok(id)
    }

    /// A page of an endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        tenant: TenantId,
        key: &str,
        page: PageQuery,
    ) -> Result<DeliveryList, Error> {
        let id = webhook_id(key)?;
        let (limit, before) = DELIVERIES.read(page)?;
        let filter = DeliveryFilter {
            before,
            limit: Page::<DeliveryRecord>::fetch(limit),
        };
        let rows = self
            .store
            .deliveries(tenant, id, filter)
            .await?
            .ok_or_else(|| not_found(key))?;
        let page = Page::cut(rows, limit, |d| d.id);
        Ok(DeliveryList {
            deliveries: page.items.into_iter().map(delivery_view).collect(),
            next: page.next,
        })
    }

    /// Makes a delivery due now, whatever its state (a delivery being sent keeps its attempt).
    pub async fn retry(
        &self,
        tenant: TenantId,
        key: &str,
        delivery: &str,
    ) -> Result<DeliveryView, Error> {
        let id = webhook_id(key)?;
        let delivery_not_found = || {
            Error::not_found(format!(
                "delivery {} of webhook {id} not found",
                delivery.chars().take(100).collect::<String>()
            ))
        };
        let delivery_id = delivery
            .parse::<i64>()
            .ok()
            .filter(|d| *d > 0)
            .ok_or_else(delivery_not_found)?;
        // Which is unknown: the endpoint, or its delivery.
        if !self
            .store
            .webhooks(tenant)
            .await?
            .iter()
            .any(|w| w.id == id)
        {
            return Err(not_found(key));
        }
        let record = self
            .store
            .retry_delivery(tenant, id, delivery_id, OffsetDateTime::now_utc())
            .await?
            .ok_or_else(delivery_not_found)?;
        Ok(delivery_view(record))
    }
}
