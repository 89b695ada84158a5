//! Single calls on customers and events (SPEC §4), running the same domain code as the batches on a chunk of one.

use crate::AppState;
use crate::auth::{Caller, SecretCaller};
use crate::body::JsonBytes;
use crate::error::ApiError;
use crate::handlers::apply_one;
use axum::Json;
use axum::extract::{Path, State};
use domain::{Success, customers, events};
use wire::{CustomerCreated, CustomerDeleted, CustomerView, Done, ErrorCode, EventsAccepted};

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
    state: State<AppState>,
    caller: Caller,
    body: JsonBytes,
) -> Result<Json<EventsAccepted>, ApiError> {
    record_events(state, caller, body.value()?).await
}

/// Records one events item (the v4 body, or a v3 body rewritten as one).
pub async fn record_events(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    body: serde_json::Value,
) -> Result<Json<EventsAccepted>, ApiError> {
    let item = events::parse(body)?;
    apply_one(&app, tenant.id, item.into()).await?;
    Ok(Json(EventsAccepted {
        success: true,
        message: "Events processed".into(),
    }))
}

pub(crate) fn customer_not_found(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::CustomerNotFound,
        format!("customer '{id}' not found"),
    )
}

pub async fn get(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    Path(customer_id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    let view = app
        .store
        .customer(tenant.id, &customer_id)
        .await?
        .ok_or_else(|| customer_not_found(&customer_id))?;
    let mut profile = view.record.profile;
    for own in ["customerId", "gameballId", "createdAt", "updatedAt"] {
        profile.remove(own);
    }
    Ok(Json(CustomerView {
        customer_id: view.record.customer_id.into_string(),
        gameball_id: view.record.gameball_id,
        profile,
        created_at: wire::instant::format(view.created_at),
        updated_at: wire::instant::format(view.updated_at),
    }))
}

pub async fn delete(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
) -> Result<Json<CustomerDeleted>, ApiError> {
    if !app.store.delete_customer(tenant.id, &customer_id).await? {
        return Err(customer_not_found(&customer_id));
    }
    Ok(Json(CustomerDeleted {
        customer_id,
        message: "Customer deleted successfully".into(),
    }))
}

/// The `tags` of a body: an array of names, or Gameball v3's comma-separated string.
fn tag_list(body: serde_json::Value) -> Result<Vec<serde_json::Value>, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidValue,
            "tags: must be an array of tag names or a comma-separated string",
        )
    };
    let serde_json::Value::Object(mut body) = body else {
        return Err(ApiError::new(
            ErrorCode::MalformedPayload,
            "body: must be a JSON object with tags",
        ));
    };
    match body.remove("tags") {
        None | Some(serde_json::Value::Null) => {
            Err(ApiError::new(ErrorCode::MissingField, "tags: required"))
        }
        Some(tags @ serde_json::Value::String(_)) => match crate::v3::translate::tags(tags) {
            serde_json::Value::Array(list) => Ok(list),
            _ => Err(invalid()),
        },
        Some(serde_json::Value::Array(list)) => Ok(list),
        Some(_) => Err(invalid()),
    }
}

/// Attaches (or removes) tags of an existing customer, atomically.
pub async fn change_tags(
    app: &AppState,
    tenant: store::TenantId,
    customer_id: &str,
    tags: Vec<serde_json::Value>,
    attach: bool,
) -> Result<Json<Done>, ApiError> {
    let change = customers::tag_change(customer_id, tags, attach)?;
    apply_one(app, tenant, change.into()).await?;
    Ok(Json(Done {
        success: true,
        message: if attach {
            "Tags attached"
        } else {
            "Tags removed"
        }
        .into(),
    }))
}

pub async fn attach_tags(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    Path(customer_id): Path<String>,
    body: JsonBytes,
) -> Result<Json<Done>, ApiError> {
    let tags = tag_list(body.value()?)?;
    change_tags(&app, tenant.id, &customer_id, tags, true).await
}

pub async fn remove_tags(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    Path(customer_id): Path<String>,
    body: JsonBytes,
) -> Result<Json<Done>, ApiError> {
    let tags = tag_list(body.value()?)?;
    change_tags(&app, tenant.id, &customer_id, tags, false).await
}

pub async fn remove_tag(
    State(app): State<AppState>,
    Caller(tenant): Caller,
    Path((customer_id, tag)): Path<(String, String)>,
) -> Result<Json<Done>, ApiError> {
    let tags = vec![serde_json::Value::String(tag)];
    change_tags(&app, tenant.id, &customer_id, tags, false).await
}
