//! Single calls on customers and events (SPEC §4), running the same domain code as the batches on a chunk of one.

use crate::AppState;
use crate::auth::{Caller, SecretCaller};
use crate::body::JsonBytes;
use crate::error::ApiError;
use crate::handlers::apply_one;
use axum::Json;
use axum::extract::{Path, State};
use domain::{Success, customers, events};
use serde_json::{Map, Value, json};
use wire::{CustomerCreated, ErrorCode, EventsAccepted};

pub async fn upsert(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    body: JsonBytes,
) -> Result<Json<CustomerCreated>, ApiError> {
    let item = customers::parse(body.value()?)?;
    match apply_one(&app, tenant.id, item.into()).await? {
        Success::Customer { gameball_id, .. } => Ok(Json(CustomerCreated { gameball_id })),
        other => Err(ApiError::internal(&format!(
            "a customer upsert answered {other:?}"
        ))),
    }
}

pub async fn events(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    body: JsonBytes,
) -> Result<Json<EventsAccepted>, ApiError> {
    let item = events::parse(body.value()?)?;
    apply_one(&app, tenant.id, item.into()).await?;
    Ok(Json(EventsAccepted {
        success: true,
        message: "Events processed".into(),
    }))
}

fn customer_not_found(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::CustomerNotFound,
        format!("customer '{id}' not found"),
    )
}

pub async fn get(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    Path(customer_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = app
        .store
        .customer(tenant.id, &customer_id)
        .await?
        .ok_or_else(|| customer_not_found(&customer_id))?;
    let mut out = Map::new();
    out.insert("customerId".into(), view.record.customer_id.as_str().into());
    out.insert("gameballId".into(), view.record.gameball_id.into());
    for (k, v) in view.record.profile {
        out.insert(k, v);
    }
    let ts = wire::instant::format;
    out.insert("createdAt".into(), ts(view.created_at).into());
    out.insert("updatedAt".into(), ts(view.updated_at).into());
    Ok(Json(Value::Object(out)))
}

pub async fn delete(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !app.store.delete_customer(tenant.id, &customer_id).await? {
        return Err(customer_not_found(&customer_id));
    }
    Ok(Json(
        json!({"customerId": customer_id, "message": "Customer deleted successfully"}),
    ))
}
