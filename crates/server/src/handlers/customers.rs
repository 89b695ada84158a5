//! Single calls on customers and events (SPEC §4): each one call of the application layer.

use crate::AppState;
use crate::auth::{Caller, SecretCaller};
use crate::body::JsonBytes;
use crate::error::ApiError;
use app::Customers;
use axum::Json;
use axum::extract::{Path, State};
use domain::Success;
use wire::{CustomerCreated, CustomerDeleted, CustomerView, Done, EventsAccepted};

/// A success of another shape than the call's: a bug, answered as a 500.
pub(crate) fn unexpected(success: &Success) -> ApiError {
    ApiError::internal(&format!("a call answered {success:?}"))
}

pub async fn upsert(
    State(state): State<AppState>,
    Caller(tenant): Caller,
    body: JsonBytes,
) -> Result<Json<CustomerCreated>, ApiError> {
    match state
        .app
        .customers()
        .upsert(tenant.id, body.value()?)
        .await?
    {
        Success::Customer { gameball_id, .. } => Ok(Json(CustomerCreated { gameball_id })),
        other => Err(unexpected(&other)),
    }
}

pub async fn events(
    State(state): State<AppState>,
    Caller(tenant): Caller,
    body: JsonBytes,
) -> Result<Json<EventsAccepted>, ApiError> {
    state
        .app
        .customers()
        .events(tenant.id, body.value()?)
        .await?;
    Ok(Json(EventsAccepted::processed()))
}

pub async fn get(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    Ok(Json(
        state
            .app
            .customers()
            .profile(tenant.id, &customer_id)
            .await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
) -> Result<Json<CustomerDeleted>, ApiError> {
    Ok(Json(
        state
            .app
            .customers()
            .delete(tenant.id, &customer_id)
            .await?,
    ))
}

pub async fn attach_tags(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
    body: JsonBytes,
) -> Result<Json<Done>, ApiError> {
    let tags = Customers::tags_of(body.value()?)?;
    let done = state
        .app
        .customers()
        .change_tags(tenant.id, &customer_id, tags, true);
    Ok(Json(done.await?))
}

pub async fn remove_tags(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
    body: JsonBytes,
) -> Result<Json<Done>, ApiError> {
    let tags = Customers::tags_of(body.value()?)?;
    let done = state
        .app
        .customers()
        .change_tags(tenant.id, &customer_id, tags, false);
    Ok(Json(done.await?))
}

pub async fn remove_tag(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path((customer_id, tag)): Path<(String, String)>,
) -> Result<Json<Done>, ApiError> {
    let tags = vec![serde_json::Value::String(tag)];
    let done = state
        .app
        .customers()
        .change_tags(tenant.id, &customer_id, tags, false);
    Ok(Json(done.await?))
}
