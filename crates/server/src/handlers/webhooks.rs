//! `/webhooks`: a tenant's endpoints (register, list, remove) and their
//! deliveries (list, retry), each one call of the application layer.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use app::PageQuery;
use app::webhooks::view;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use wire::{DeliveryList, DeliveryView, ErrorCode, WebhookCreated, WebhookList, WebhookRemoved};

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidValue, message)
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
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: crate::body::JsonBytes,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let (url, events) = endpoint_fields(&body.value()?)?;
    let w = state
        .app
        .webhooks()
        .register(tenant.id, &url, events.as_deref())
        .await?;
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
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
) -> Result<Json<WebhookList>, ApiError> {
    let webhooks = state.app.webhooks().list(tenant.id).await?;
    Ok(Json(WebhookList {
        webhooks: webhooks.into_iter().map(view).collect(),
    }))
}

pub async fn remove(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
) -> Result<Json<WebhookRemoved>, ApiError> {
    let id = state.app.webhooks().remove(tenant.id, &key).await?;
    Ok(Json(WebhookRemoved { id, removed: true }))
}

#[derive(Deserialize)]
pub struct DeliveryQuery {
    limit: Option<String>,
    after: Option<String>,
}

pub async fn deliveries(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.after,
    };
    let answer = state.app.webhooks().deliveries(tenant.id, &key, page);
    Ok(Json(answer.await?))
}

pub async fn retry(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path((key, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let view = state
        .app
        .webhooks()
        .retry(tenant.id, &key, &delivery)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}
