//! Gameball API v3.0 under `/api/v3.0/integrations`, for integrations built on
//! Gameball's server SDKs (Python `gb-alpha` 3.0, PHP `gameball-php` 3.0):
//! each body is rewritten into the v4 item (`translate.rs`) and runs the same
//! domain rules; the answers carry v3's names (`wire::v3`). Every success is a
//! 200 with a JSON object — except a batch's creation, a bare job id, which is
//! what both SDKs read — and every error the `{code, message, …}` envelope.

pub(crate) mod translate;

use crate::AppState;
use crate::auth::{Caller, SecretCaller};
use crate::body::JsonBytes;
use crate::error::ApiError;
use crate::handlers::customers::unexpected;
use crate::handlers::{batch, customers, jobs, transactions};
use crate::routes::Routes;
use app::listings::TransactionQuery;
use app::{Batch, Call};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use domain::Success;
use serde_json::Value;
use translate::Untranslatable;
use wire::v3;

pub use wire::v3::BASE_PATH;

impl From<Untranslatable> for ApiError {
    fn from(u: Untranslatable) -> ApiError {
        ApiError::new(u.code, u.message)
    }
}

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .post("/player", player)
        .get("/player/{player_id}", get_player)
        .get("/player/{player_id}/balance", balance)
        .post("/player/{player_id}/tags", customers::attach_tags)
        .delete("/player/{player_id}/tags", customers::remove_tags)
        .post("/event", event)
        .post("/transaction/cashback", cashback)
        .post("/transaction/hold", hold)
        .delete("/transaction/hold/{reference}", transactions::release_hold)
        .post("/transaction/redeem", redeem)
        .post("/transaction/manual", manual)
        .post("/transaction/refund", refund)
        .post("/order", order)
        .get("/config", config)
        .get("/transaction/list", transaction_list)
        .post("/batch", create_batch)
        .get("/batch/{key}", jobs::status)
        .delete("/batch/{key}", jobs::stop)
}

async fn player(
    State(state): State<AppState>,
    Caller(tenant): Caller,
    body: JsonBytes,
) -> Result<Json<v3::PlayerSaved>, ApiError> {
    let item = translate::player(body.value()?)?;
    match state.app.customers().upsert(tenant.id, item).await? {
        Success::Customer {
            customer_id,
            gameball_id,
            ..
        } => Ok(Json(v3::PlayerSaved {
            player_unique_id: customer_id,
            gameball_id,
        })),
        other => Err(unexpected(&other)),
    }
}

async fn get_player(
    state: State<AppState>,
    caller: SecretCaller,
    id: Path<String>,
) -> Result<Json<v3::PlayerView>, ApiError> {
    let Json(view) = customers::get(state, caller, id).await?;
    let mut profile = view.profile;
    let player_attributes = match profile.remove(domain::customers::ATTRIBUTES) {
        Some(Value::Object(a)) => a,
        _ => Default::default(),
    };
    Ok(Json(v3::PlayerView {
        player_unique_id: view.customer_id,
        gameball_id: view.gameball_id,
        player_attributes,
        profile,
        created_at: view.created_at,
        updated_at: view.updated_at,
    }))
}

async fn balance(
    state: State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<v3::PlayerBalance>, ApiError> {
    let Json(balance) = transactions::balance(state, caller, Path(id.clone())).await?;
    Ok(Json(v3::PlayerBalance {
        player_unique_id: id,
        points_balance: balance.available_points_balance,
        points_value: balance.available_points_value,
        balance,
    }))
}

async fn event(
    State(state): State<AppState>,
    Caller(tenant): Caller,
    body: JsonBytes,
) -> Result<Json<wire::EventsAccepted>, ApiError> {
    let item = translate::event(body.value()?)?;
    state.app.customers().events(tenant.id, item).await?;
    Ok(Json(wire::EventsAccepted::processed()))
}

/// Translates one ledger call's body into the v4 one and makes the call.
async fn ledger_call(
    state: &AppState,
    tenant: store::TenantId,
    body: JsonBytes,
    translate: translate::Step,
    call: Call,
) -> Result<Success, ApiError> {
    let item = translate(body.value()?)?;
    Ok(state.app.ledger().call(tenant, call, item).await?)
}

async fn cashback(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::CashbackRewarded>, ApiError> {
    match ledger_call(&state, tenant.id, body, translate::cashback, Call::Cashback).await? {
        Success::Cashback {
            customer_id,
            transaction_id,
            gameball_transaction_id,
            reward_equivalent_points,
            reward_amount,
        } => Ok(Json(v3::CashbackRewarded {
            player_unique_id: customer_id,
            transaction_id,
            gameball_transaction_id,
            rewarded_points: reward_equivalent_points,
            reward_amount,
        })),
        other => Err(unexpected(&other)),
    }
}

async fn hold(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::PointsHeld>, ApiError> {
    match ledger_call(&state, tenant.id, body, translate::hold, Call::Hold).await? {
        Success::Held {
            customer_id,
            hold_reference,
            hold_equivalent_points,
            hold_amount,
        } => Ok(Json(v3::PointsHeld {
            player_unique_id: customer_id,
            hold_reference,
            hold_equivalent_points,
            hold_amount,
        })),
        other => Err(unexpected(&other)),
    }
}

async fn redeem(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::PointsRedeemed>, ApiError> {
    match ledger_call(&state, tenant.id, body, translate::redeem, Call::Redeem).await? {
        Success::Redeemed {
            customer_id,
            transaction_id,
            gameball_transaction_id,
            redeem_equivalent_points,
            redeem_amount,
        } => Ok(Json(v3::PointsRedeemed {
            player_unique_id: customer_id,
            transaction_id,
            gameball_transaction_id,
            redeemed_points: redeem_equivalent_points,
            redeemed_amount: redeem_amount,
        })),
        other => Err(unexpected(&other)),
    }
}

async fn manual(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::PointsAdjusted>, ApiError> {
    match ledger_call(&state, tenant.id, body, translate::manual, Call::Manual).await? {
        Success::Adjusted {
            customer_id,
            transaction_id,
            gameball_transaction_id,
            points,
        } => Ok(Json(v3::PointsAdjusted {
            player_unique_id: customer_id,
            transaction_id,
            gameball_transaction_id,
            points,
        })),
        other => Err(unexpected(&other)),
    }
}

async fn refund(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::Refunded>, ApiError> {
    match ledger_call(&state, tenant.id, body, translate::refund, Call::Refund).await? {
        Success::Refunded {
            customer_id,
            refund_transaction_id,
            gameball_transaction_id,
            refund_amount,
            refund_equivalent_points,
        } => Ok(Json(v3::Refunded {
            player_unique_id: customer_id,
            transaction_id: refund_transaction_id,
            gameball_transaction_id,
            refunded_points: refund_equivalent_points,
            amount: refund_amount,
        })),
        other => Err(unexpected(&other)),
    }
}

async fn order(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::OrderRewarded>, ApiError> {
    match ledger_call(&state, tenant.id, body, translate::order, Call::Order).await? {
        Success::Order {
            customer_id,
            order_id,
            gameball_transaction_id,
            rewarded_points,
            redeemed_points,
        } => Ok(Json(v3::OrderRewarded {
            player_unique_id: customer_id,
            order_id,
            gameball_transaction_id,
            rewarded_points,
            redeemed_points,
        })),
        other => Err(unexpected(&other)),
    }
}

async fn config(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
) -> Result<Json<v3::Configuration>, ApiError> {
    let ledger = state.app.ledger();
    Ok(Json(v3::Configuration {
        cashback: ledger.cashback_configuration(tenant.id).await?,
        redemption: ledger.redemption_configuration(tenant.id).await?,
    }))
}

/// `POST /batch`: answered `200` with the job id alone as the body (the Python
/// SDK parses it as JSON, the PHP SDK takes the body's last line).
async fn create_batch(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Response, ApiError> {
    let (batch_type, items) = translate::batch(body.value()?)?;
    let texts: Vec<String> = items.iter().map(Value::to_string).collect();
    let batch = Batch {
        batch_type,
        items: texts.iter().map(String::as_str).collect(),
        idempotency_key: batch::idempotency_key(&headers),
        body: &body.0,
    };
    let job = state.app.jobs().create(tenant.id, batch).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        format!("{job}\n"),
    )
        .into_response())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    direction: Option<String>,
    from: Option<String>,
    to: Option<String>,
    transaction_id: Option<String>,
}

/// `GET /transaction/list?page&limit&direction&from&to&transactionId`: the v4
/// listing, paged by number as v3 pages.
async fn transaction_list(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Json<v3::TransactionPage>, ApiError> {
    let query = TransactionQuery {
        direction: q.direction,
        from: q.from,
        to: q.to,
        transaction_id: q.transaction_id,
        ..Default::default()
    };
    let page = state
        .app
        .ledger()
        .numbered_transactions(tenant.id, query, q.page, q.limit)
        .await?;
    Ok(Json(v3::TransactionPage {
        transactions: page.transactions,
        page: page.page,
        limit: page.limit,
        has_more: page.has_more,
    }))
}
