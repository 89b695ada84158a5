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
use crate::handlers::{apply_one, batch, customers, jobs, listing, transactions};
use crate::routes::Routes;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use domain::ledger::parse as ledger;
use domain::{ChunkItems, Success};
use serde_json::Value;
use translate::Untranslatable;
use wire::{ErrorCode, v3};

/// The base path of the v3.0 API.
pub const BASE_PATH: &str = "/api/v3.0/integrations";

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

fn unexpected(success: &Success) -> ApiError {
    ApiError::internal(&format!("a v3 call answered {success:?}"))
}

async fn player(
    State(app): State<AppState>,
    caller: Caller,
    body: JsonBytes,
) -> Result<Json<v3::PlayerSaved>, ApiError> {
    let item = translate::player(body.value()?)?;
    let upsert = domain::customers::parse(item)?;
    let Caller(tenant) = caller;
    match apply_one(&app, tenant.id, upsert.into()).await? {
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
    caller: Caller,
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
    state: State<AppState>,
    caller: Caller,
    body: JsonBytes,
) -> Result<Response, ApiError> {
    let item = translate::event(body.value()?)?;
    Ok(customers::record_events(state, caller, item)
        .await?
        .into_response())
}

/// Translates, parses and applies one ledger call.
async fn ledger_call(
    app: &AppState,
    tenant: store::TenantId,
    body: JsonBytes,
    translate: translate::Step,
    parse: ledger::Parser,
) -> Result<Success, ApiError> {
    let item = parse(translate(body.value()?)?)?;
    apply_one(app, tenant, ChunkItems::single(item)).await
}

async fn cashback(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::CashbackRewarded>, ApiError> {
    match ledger_call(
        &app,
        tenant.id,
        body,
        translate::cashback,
        ledger::parse_cashback,
    )
    .await?
    {
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
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::PointsHeld>, ApiError> {
    match ledger_call(&app, tenant.id, body, translate::hold, ledger::parse_hold).await? {
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
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::PointsRedeemed>, ApiError> {
    match ledger_call(
        &app,
        tenant.id,
        body,
        translate::redeem,
        ledger::parse_redeem,
    )
    .await?
    {
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
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::PointsAdjusted>, ApiError> {
    match ledger_call(
        &app,
        tenant.id,
        body,
        translate::manual,
        ledger::parse_manual,
    )
    .await?
    {
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
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::Refunded>, ApiError> {
    match ledger_call(
        &app,
        tenant.id,
        body,
        translate::refund,
        ledger::parse_refund,
    )
    .await?
    {
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
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<v3::OrderRewarded>, ApiError> {
    match ledger_call(&app, tenant.id, body, translate::order, ledger::parse_order).await? {
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
    State(app): State<AppState>,
    Caller(tenant): Caller,
) -> Result<Json<v3::Configuration>, ApiError> {
    let settings = app.store.program_settings(tenant.id).await?;
    Ok(Json(v3::Configuration {
        cashback: crate::handlers::configurations::cashback_of(&settings),
        redemption: crate::handlers::configurations::redemption_of(settings),
    }))
}

/// `POST /batch`: answered `200` with the job id alone as the body (the Python
/// SDK parses it as JSON, the PHP SDK takes the body's last line).
async fn create_batch(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let (batch_type, items) = translate::batch(body.value()?)?;
    crate::body::check_item_count(items.len(), app.settings.max_batch_items)?;
    let idempotency = batch::idempotency(&headers, batch_type, &body.0)?;
    let texts: Vec<String> = items.iter().map(Value::to_string).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let job = batch::store_job(&app, tenant.id, batch_type, idempotency, &texts, started).await?;
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

/// How deep pages reach: `page × limit` movements at most.
const MAX_LISTED: u32 = 10_000;

/// `GET /transaction/list?page&limit&direction&from&to&transactionId`: the v4
/// listing, paged by number as v3 pages.
async fn transaction_list(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Json<v3::TransactionPage>, ApiError> {
    let number =
        |name: &str, v: Option<String>, default: u32, max: u32| match v.filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidValue,
                        format!("{name}: must be a whole number from 1 to {max}"),
                    )
                }),
        };
    let limit = number("limit", q.limit, 50, 200)?;
    let page = number("page", q.page, 1, MAX_LISTED)?;
    let skip = (page - 1).saturating_mul(limit);
    if skip.saturating_add(limit) > MAX_LISTED {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            format!(
                "page: pages reach the first {MAX_LISTED} transactions; narrow them with from and to"
            ),
        ));
    }
    let query = listing::TransactionQuery {
        direction: q.direction,
        from: q.from,
        to: q.to,
        transaction_id: q.transaction_id,
        ..Default::default()
    };
    let Some(mut filter) = listing::filter(query, false)? else {
        return Ok(Json(v3::TransactionPage {
            transactions: Vec::new(),
            page,
            limit,
            has_more: false,
        }));
    };
    filter.limit = skip + limit + 1;
    let rows = app.store.list_movements(tenant.id, &filter).await?;
    let has_more = rows.len() > (skip + limit) as usize;
    let transactions = rows
        .into_iter()
        .skip(skip as usize)
        .take(limit as usize)
        .map(listing::view)
        .collect();
    Ok(Json(v3::TransactionPage {
        transactions,
        page,
        limit,
        has_more,
    }))
}
