//! `/webhooks`: a tenant's endpoints (register, list, remove) and their deliveries (list, retry).

use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use domain::webhooks::{
    EventType, MAX_ENDPOINTS, address_allowed, literal_address, parse_endpoint, secret_from,
};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use store::{DeliveryFilter, DeliveryRecord, NewWebhook, StoreError, WebhookRecord, WebhookStore};
use time::OffsetDateTime;
use wire::{
    DeliveryList, DeliveryView, ErrorCode, WebhookCreated, WebhookList, WebhookRemoved, WebhookView,
};

/// How long registration waits for a host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidValue, message)
}

/// Checks an endpoint to register: the URL's shape, that its host is public
/// (resolving a name now; deliveries check again at each call) unless
/// `allow_private`, and the events (all three when `None`), each once.
pub async fn check_endpoint(
    url: &str,
    events: Option<&[String]>,
    allow_private: bool,
) -> Result<(String, Vec<EventType>), ApiError> {
    let parsed = parse_endpoint(url).map_err(|m| invalid(format!("url: {m}")))?;
    if !allow_private {
        let refused = || {
            invalid(
                "url: the host is not a public address (loopback, private, link-local and metadata \
                 addresses are refused unless the server runs with --webhook-allow-private)"
                    .to_owned(),
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
                    return Err(invalid("url: the host name does not resolve".to_owned()));
                }
                if addrs.iter().any(|a| !address_allowed(a.ip())) {
                    return Err(refused());
                }
            }
        }
    }
    let events = match events {
        None => EventType::ALL.to_vec(),
        Some([]) => return Err(invalid("events: must name at least one event".to_owned())),
        Some(names) => {
            let mut chosen = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let e = EventType::parse(name).ok_or_else(|| {
                    invalid(format!(
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

/// Registers a checked endpoint with a new signing secret (the API and the CLI).
pub async fn register(
    store: &dyn WebhookStore,
    tenant: store::TenantId,
    url: String,
    events: Vec<EventType>,
) -> Result<WebhookRecord, ApiError> {
    let webhook = NewWebhook {
        url,
        events,
        secret: secret_from(rand::random()),
    };
    store
        .create_webhook(tenant, webhook, MAX_ENDPOINTS, OffsetDateTime::now_utc())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => {
                ApiError::new(ErrorCode::LimitExceeded, format!("{m}; remove one first"))
            }
            other => other.into(),
        })
}

pub fn view(w: WebhookRecord) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url,
        events: w.events,
        created_at: w.created_at,
    }
}

/// The fields of `POST /webhooks`.
fn endpoint_fields(body: &Value) -> Result<(String, Option<Vec<String>>), ApiError> {
    let Some(object) = body.as_object() else {
        return Err(invalid("body: must be a JSON object".to_owned()));
    };
    let url = match object.get("url") {
        None | Some(Value::Null) => {
            return Err(ApiError::new(ErrorCode::MissingField, "url: required"));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("url: must be a string".to_owned())),
    };
    let events = match object.get("events") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(
            list.iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(format!("events[{i}]: must be a string")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(invalid(
                "events: must be an array of event names".to_owned(),
            ));
        }
    };
    Ok((url, events))
}

pub async fn create(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: crate::body::JsonBytes,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let (url, events) = endpoint_fields(&body.value()?)?;
    let (url, events) =
        check_endpoint(&url, events.as_deref(), app.settings.webhook_allow_private).await?;
    let w = register(&*app.store, tenant.id, url, events).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            id: w.id,
            url: w.url,
            events: w.events,
            secret: w.secret,
            created_at: w.created_at,
        }),
    ))
}

pub async fn list(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
) -> Result<Json<WebhookList>, ApiError> {
    let webhooks = app.store.webhooks(tenant.id).await?;
    Ok(Json(WebhookList {
        webhooks: webhooks.into_iter().map(view).collect(),
    }))
}

fn webhook_id(key: &str) -> Result<i64, ApiError> {
    key.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| not_found(key))
}

fn not_found(key: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "webhook {} not found",
            key.chars().take(100).collect::<String>()
        ),
    )
}

pub async fn remove(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<WebhookRemoved>, ApiError> {
    let id = webhook_id(&key)?;
    if !app.store.delete_webhook(tenant.id, id).await? {
        return Err(not_found(&key));
    }
    Ok(Json(WebhookRemoved { id, removed: true }))
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

#[derive(Deserialize)]
pub struct DeliveryQuery {
    limit: Option<String>,
    after: Option<String>,
}

pub const DEFAULT_DELIVERY_LIMIT: u32 = 50;
pub const MAX_DELIVERY_LIMIT: u32 = 200;

pub async fn deliveries(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let id = webhook_id(&key)?;
    let (limit, before) = super::page(
        q.limit,
        ("after", q.after, "a delivery id"),
        DEFAULT_DELIVERY_LIMIT,
        MAX_DELIVERY_LIMIT,
    )?;
    let filter = DeliveryFilter {
        before,
        limit: limit + 1,
    };
    let mut list = app
        .store
        .deliveries(tenant.id, id, filter)
        .await?
        .ok_or_else(|| not_found(&key))?;
    let next = if list.len() > limit as usize {
        list.truncate(limit as usize);
        list.last().map(|d| d.id)
    } else {
        None
    };
    Ok(Json(DeliveryList {
        deliveries: list.into_iter().map(delivery_view).collect(),
        next,
    }))
}

pub async fn retry(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path((key, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let id = webhook_id(&key)?;
    let delivery_not_found = || {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "delivery {} of webhook {id} not found",
                delivery.chars().take(100).collect::<String>()
            ),
        )
    };
    let delivery_id = delivery
        .parse::<i64>()
        .ok()
        .filter(|d| *d > 0)
        .ok_or_else(delivery_not_found)?;
    // Which is unknown: the endpoint, or its delivery.
    if !app
        .store
        .webhooks(tenant.id)
        .await?
        .iter()
        .any(|w| w.id == id)
    {
        return Err(not_found(&key));
    }
    let record = app
        .store
        .retry_delivery(tenant.id, id, delivery_id, OffsetDateTime::now_utc())
        .await?
        .ok_or_else(delivery_not_found)?;
    Ok((StatusCode::ACCEPTED, Json(delivery_view(record))))
}
