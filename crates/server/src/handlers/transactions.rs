//! Single calls that move points (SPEC §4): cashback, redeem, holds, manual adjustments, and the balance — the batch domain code on a chunk of one.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::body::JsonBytes;
use crate::error::ApiError;
use crate::handlers::apply_one;
use axum::Json;
use axum::extract::{Path, State};
use domain::fields::rfc3339;
use domain::ledger::Millis;
use domain::ledger::parse::{self as transactions, LedgerItem, LedgerOp};
use domain::ledger::post::balance_view;
use domain::{ChunkItems, CustomerId, Success};
use serde_json::Value;
use store::{HoldRecord, HoldState, TenantAuth, TenantId, to_millis};
use time::OffsetDateTime;
use wire::{BalanceView, CashbackPreview, ErrorCode, HoldView, RewardPreview};

/// Parses the body with `parse`, applies it as a chunk of one, answers its success entry.
async fn post_one(
    app: &AppState,
    tenant: &TenantAuth,
    body: JsonBytes,
    parse: fn(Value) -> domain::outcome::ParseResult<LedgerItem>,
) -> Result<Json<Success>, ApiError> {
    let item = parse(body.value()?)?;
    Ok(Json(apply_one(app, tenant.id, item.into()).await?))
}

/// `GET /orders/{orderId}/transactions` (SPEC §5.8).
pub async fn order_transactions(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(order_id): Path<String>,
) -> Result<Json<Success>, ApiError> {
    let items = ChunkItems::order_transactions(order_id);
    Ok(Json(apply_one(&app, tenant.id, items).await?))
}

/// A `POST` single call: the body parsed by `$parse`, applied as a chunk of one.
macro_rules! post_call {
    ($(#[$doc:meta])* $name:ident => $parse:path) => {
        $(#[$doc])*
        pub async fn $name(
            State(app): State<AppState>,
            SecretCaller(tenant): SecretCaller,
            body: JsonBytes,
        ) -> Result<Json<Success>, ApiError> {
            post_one(&app, &tenant, body, $parse).await
        }
    };
}

post_call!(
    /// `POST /transactions/cashback` (SPEC §5.5).
    cashback => transactions::parse_cashback
);
post_call!(
    /// `POST /transactions/redeem` (SPEC §5.6).
    redeem => transactions::parse_redeem
);
post_call!(
    /// `POST /transactions/manual` (SPEC §5.4).
    manual => transactions::parse_manual
);
post_call!(
    /// `POST /transactions/refund` (SPEC §5.9).
    refund => transactions::parse_refund
);
post_call!(
    /// `POST /orders` (SPEC §5.7).
    order => transactions::parse_order
);
post_call!(
    /// `POST /transactions/hold` (SPEC §5.6).
    hold => transactions::parse_hold
);

/// The tenant's hold `reference` in its state at `now`, or a 404 naming it.
async fn find_hold(
    app: &AppState,
    tenant: TenantId,
    reference: &str,
    now: OffsetDateTime,
) -> Result<HoldRecord, ApiError> {
    app.store
        .hold(tenant, reference, now)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("hold '{reference}' not found")))
}

pub async fn get_hold(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(reference): Path<String>,
) -> Result<Json<HoldView>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let hold = find_hold(&app, tenant.id, &reference, now).await?;
    Ok(Json(HoldView {
        customer_id: hold.customer_id,
        hold_reference: reference,
        hold_amount: hold.amount.map(|a| a.normalize()),
        hold_equivalent_points: hold.points,
        state: hold.state.as_str(),
        date_to_expire: rfc3339(to_millis(hold.expires_at)),
    }))
}

/// Releases an active hold; a used, released or expired one answers 9006.
pub async fn release_hold(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(reference): Path<String>,
) -> Result<Json<Success>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let hold = find_hold(&app, tenant.id, &reference, now).await?;
    if hold.state != HoldState::Active {
        return Err(ApiError::new(
            ErrorCode::HoldNotFound,
            format!("holdReference: the hold is {}", hold.state.as_str()),
        ));
    }
    let customer_id =
        CustomerId::parse(&hold.customer_id).map_err(|f| ApiError::internal(&f.message))?;
    // The ledger decides again inside the transaction: a concurrent use or expiry wins cleanly.
    let release = LedgerItem {
        customer_id,
        op: LedgerOp::Release { reference },
    };
    Ok(Json(apply_one(&app, tenant.id, release.into()).await?))
}

/// `GET /customers/{id}/balance`: the same view a balance-inquiry item reports,
/// read from a snapshot (it moves nothing, so it needs no write transaction).
pub async fn balance(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
) -> Result<Json<BalanceView>, ApiError> {
    let now: Millis = to_millis(OffsetDateTime::now_utc());
    let (view, settings) = tokio::try_join!(
        app.store.customer(tenant.id, &customer_id),
        app.store.program_settings(tenant.id)
    )?;
    let view = view.ok_or_else(|| {
        ApiError::new(
            ErrorCode::CustomerNotFound,
            format!("customer '{customer_id}' not found"),
        )
    })?;
    Ok(Json(balance_view(
        &view.record.ledger.balance(now),
        &settings,
    )))
}

/// `POST /orders/reward-preview`: the points an order paying `totalPaid` would
/// earn at the tenant's factors; nothing is written.
pub async fn reward_preview(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    body: JsonBytes,
) -> Result<Json<RewardPreview>, ApiError> {
    let (customer, total_paid) = transactions::parse_reward_preview(body.value()?)?;
    let settings = app.store.program_settings(tenant.id).await?;
    let points = settings.cashback_points(total_paid).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidValue,
            format!(
                "totalPaid: worth more than {} points at this program's factors",
                domain::limits::MAX_POINTS
            ),
        )
    })?;
    let customer_found = match &customer {
        Some(id) => app.store.customer(tenant.id, id.as_str()).await?.is_some(),
        None => false,
    };
    Ok(Json(RewardPreview {
        customer_id: customer.map(CustomerId::into_string),
        customer_found,
        total_points: points,
        cashback: CashbackPreview {
            total_points: points,
            return_window_days: settings.return_window_days,
        },
    }))
}

/// `DELETE /orders/{orderId}/transactions`: reverses an order as its full refund
/// would (its earning clawed back, the points it redeemed given back), under the
/// refund id `reversal-{gameballTransactionId of the order}`; a second reversal is a conflict.
pub async fn reverse_order(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(order_id): Path<String>,
) -> Result<Json<Success>, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, format!("order '{order_id}' not found"));
    let filter = store::MovementFilter {
        transaction_id: Some(order_id.clone()),
        kinds: Some(vec![domain::movement::MovementKind::Order.as_str()]),
        limit: 1,
        ..Default::default()
    };
    let order = app
        .store
        .list_movements(tenant.id, &filter)
        .await?
        .pop()
        .ok_or_else(not_found)?;
    let customer_id =
        CustomerId::parse(&order.customer_id).map_err(|f| ApiError::internal(&f.message))?;
    let refund = LedgerItem {
        customer_id,
        op: LedgerOp::Refund {
            // Short whatever the order id's length, and the same for every reversal of it.
            refund_transaction_id: format!("reversal-{}", order.id),
            reverse_transaction_id: order_id.clone(),
            transaction_time: to_millis(OffsetDateTime::now_utc()),
            refund_amount: None,
        },
    };
    apply_one(&app, tenant.id, refund.into())
        .await
        .map(Json)
        .map_err(|e| {
            if e.code == ErrorCode::DuplicateTransaction {
                ApiError::new(
                    ErrorCode::StateConflict,
                    format!("order '{order_id}' was already reversed"),
                )
            } else {
                e
            }
        })
}
