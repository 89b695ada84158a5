//! Single calls that move points (the batch domain rules on a chunk of one),
//! holds, balances, orders' transactions and reversals, reward previews, and
//! the program settings as Gameball's configuration calls show them.

use crate::Error;
use domain::fields::rfc3339;
use domain::ledger::parse::{self as parse, LedgerItem, LedgerOp};
use domain::ledger::post::balance_view;
use domain::movement::MovementKind;
use domain::settings::ProgramSettings;
use domain::{ChunkItems, CustomerId, Success, customers, events, limits};
use serde_json::Value;
use std::sync::Arc;
use store::{CustomerStore, HoldState, MovementFilter, TenantId, TenantStore, to_millis};
use time::OffsetDateTime;
use wire::{
    BalanceView, CashbackConfiguration, CashbackPreview, CashbackRule, ErrorCode, HoldView,
    RedemptionConfiguration, RewardPreview,
};

/// A single call that writes: its body is read by the parser of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `POST /customers` (an upsert).
    Customer,
    /// `POST /events`.
    Events,
    Cashback,
    Redeem,
    /// `POST /transactions/manual`.
    Manual,
    Refund,
    /// `POST /orders`.
    Order,
    Hold,
}

impl Call {
    fn parse(self, body: Value) -> Result<ChunkItems, Error> {
        let ledger = |p: parse::Parser, body| -> Result<ChunkItems, Error> { Ok(p(body)?.into()) };
        match self {
            Call::Customer => Ok(customers::parse(body)?.into()),
            Call::Events => Ok(events::parse(body)?.into()),
            Call::Cashback => ledger(parse::parse_cashback, body),
            Call::Redeem => ledger(parse::parse_redeem, body),
            Call::Manual => ledger(parse::parse_manual, body),
            Call::Refund => ledger(parse::parse_refund, body),
            Call::Order => ledger(parse::parse_order, body),
            Call::Hold => ledger(parse::parse_hold, body),
        }
    }
}

/// A single call's body is held to a batch item's limit ([`limits::MAX_ITEM_BYTES`]).
fn check_size(body: &Value) -> Result<(), Error> {
    if limits::json_bytes(body) > limits::MAX_ITEM_BYTES {
        return Err(Error::refused(
            ErrorCode::LimitExceeded,
            format!(
                "body: larger than {} bytes (one item's limit)",
                limits::MAX_ITEM_BYTES
            ),
        ));
    }
    Ok(())
}

pub fn cashback_configuration(s: &ProgramSettings) -> CashbackConfiguration {
    CashbackConfiguration {
        default_cashback_rule: CashbackRule {
            amount_reward_threshold: s.amount_reward_threshold.normalize(),
            reward_wallet_factor: s.reward_wallet_factor.normalize(),
        },
        tier_cashback_rules: Vec::new(),
        return_window_days: s.return_window_days,
        points_expiry_days: s.points_expiry_days,
        event_rewards: s.event_rewards.clone(),
    }
}

pub fn redemption_configuration(s: ProgramSettings) -> RedemptionConfiguration {
    RedemptionConfiguration {
        redemption_factor: s.redemption_factor.normalize(),
        redemption_rules: Vec::new(),
        currency: s.currency,
        points_name: s.points_name,
        hold_expiry_minutes: s.hold_expiry_minutes,
    }
}

#[derive(Clone)]
pub struct Ledger {
    pub(crate) store: Arc<dyn CustomerStore>,
    tenants: Arc<dyn TenantStore>,
    /// Each tenant's share of the database for listings.
    pub(crate) listings: crate::gate::TenantGate,
}

impl Ledger {
    pub(crate) fn new(
        store: Arc<dyn CustomerStore>,
        tenants: Arc<dyn TenantStore>,
        listings: crate::gate::TenantGate,
    ) -> Ledger {
        Ledger {
            store,
            tenants,
            listings,
        }
    }

    /// Applies one item as a chunk of one, in one durable transaction; its
    /// failure is the call's error.
    pub(crate) async fn apply(
        &self,
        tenant: TenantId,
        items: ChunkItems,
    ) -> Result<Success, Error> {
        let outcome = self
            .store
            .apply_single(tenant, items, OffsetDateTime::now_utc())
            .await?;
        Ok(outcome.result?)
    }

    /// A single call: `body` (at most an item's bytes, as a batch item) parsed
    /// by `call`'s rules and applied.
    pub async fn call(&self, tenant: TenantId, call: Call, body: Value) -> Result<Success, Error> {
        check_size(&body)?;
        let items = call.parse(body)?;
        self.apply(tenant, items).await
    }

    /// `GET /orders/{orderId}/transactions` (SPEC §5.8).
    pub async fn order_transactions(
        &self,
        tenant: TenantId,
        order_id: String,
    ) -> Result<Success, Error> {
        self.apply(tenant, ChunkItems::order_transactions(order_id))
            .await
    }

    pub async fn program_settings(&self, tenant: TenantId) -> Result<ProgramSettings, Error> {
        Ok(self.tenants.program_settings(tenant).await?)
    }

    pub async fn cashback_configuration(
        &self,
        tenant: TenantId,
    ) -> Result<CashbackConfiguration, Error> {
        Ok(cashback_configuration(
            &self.program_settings(tenant).await?,
        ))
    }

    pub async fn redemption_configuration(
        &self,
        tenant: TenantId,
    ) -> Result<RedemptionConfiguration, Error> {
        Ok(redemption_configuration(
            self.program_settings(tenant).await?,
        ))
    }

    /// The tenant's hold `reference` in its state now, or a 404 naming it.
    pub async fn hold(&self, tenant: TenantId, reference: &str) -> Result<HoldView, Error> {
        let hold = self.find_hold(tenant, reference).await?;
        Ok(HoldView {
            customer_id: hold.customer_id,
            hold_reference: reference.to_owned(),
            hold_amount: hold.amount.map(|a| a.normalize()),
            hold_equivalent_points: hold.points,
            state: hold.state.as_str(),
            date_to_expire: rfc3339(to_millis(hold.expires_at)),
        })
    }

    async fn find_hold(
        &self,
        tenant: TenantId,
        reference: &str,
    ) -> Result<store::HoldRecord, Error> {
        self.store
            .hold(tenant, reference, OffsetDateTime::now_utc())
            .await?
            .ok_or_else(|| Error::not_found(format!("hold '{reference}' not found")))
    }

    /// Releases an active hold; a used, released or expired one answers 9006.
    pub async fn release_hold(&self, tenant: TenantId, reference: &str) -> Result<Success, Error> {
        let hold = self.find_hold(tenant, reference).await?;
        if hold.state != HoldState::Active {
            return Err(Error::refused(
                ErrorCode::HoldNotFound,
                format!("holdReference: the hold is {}", hold.state.as_str()),
            ));
        }
        let customer_id =
            CustomerId::parse(&hold.customer_id).map_err(|f| Error::internal(f.message))?;
        // The ledger decides again inside the transaction: a concurrent use or expiry wins cleanly.
        let release = LedgerItem {
            customer_id,
            op: LedgerOp::Release {
                reference: reference.to_owned(),
            },
        };
        self.apply(tenant, release.into()).await
    }

    /// A customer's balance: the view a balance-inquiry item reports, read from
    /// a snapshot (it moves nothing, so it needs no write transaction).
    pub async fn balance(&self, tenant: TenantId, customer_id: &str) -> Result<BalanceView, Error> {
        let (view, settings) = tokio::try_join!(
            self.store.customer(tenant, customer_id),
            self.tenants.program_settings(tenant)
        )?;
        let view = view.ok_or_else(|| Error::customer_not_found(customer_id))?;
        let now = to_millis(OffsetDateTime::now_utc());
        Ok(balance_view(&view.record.ledger.balance(now), &settings))
    }

    /// `POST /orders/reward-preview`: the points an order paying `totalPaid`
    /// would earn at the tenant's factors; nothing is written.
    pub async fn reward_preview(
        &self,
        tenant: TenantId,
        body: Value,
    ) -> Result<RewardPreview, Error> {
        let (customer, total_paid) = parse::parse_reward_preview(body)?;
        let settings = self.program_settings(tenant).await?;
        let points = settings.cashback_points(total_paid).ok_or_else(|| {
            Error::invalid(format!(
                "totalPaid: worth more than {} points at this program's factors",
                domain::limits::MAX_POINTS
            ))
        })?;
        let customer_found = match &customer {
            Some(id) => self.store.customer(tenant, id.as_str()).await?.is_some(),
            None => false,
        };
        Ok(RewardPreview {
            customer_id: customer.map(CustomerId::into_string),
            customer_found,
            total_points: points,
            cashback: CashbackPreview {
                total_points: points,
                return_window_days: settings.return_window_days,
            },
        })
    }

    /// `DELETE /orders/{orderId}/transactions`: reverses an order as its full
    /// refund would (its earning clawed back, the points it redeemed given
    /// back), under the refund id `reversal-{gameballTransactionId of the
    /// order}`; a second reversal is a conflict.
    pub async fn reverse_order(&self, tenant: TenantId, order_id: &str) -> Result<Success, Error> {
        let filter = MovementFilter {
            transaction_id: Some(order_id.to_owned()),
            kinds: Some(vec![MovementKind::Order.as_str()]),
            limit: 1,
            ..Default::default()
        };
        let order = self
            .store
            .list_movements(tenant, &filter)
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(format!("order '{order_id}' not found")))?;
        let customer_id =
            CustomerId::parse(&order.customer_id).map_err(|f| Error::internal(f.message))?;
        let refund = LedgerItem {
            customer_id,
            op: LedgerOp::Refund {
                // Short whatever the order id's length, and the same for every reversal of it.
                refund_transaction_id: format!("reversal-{}", order.id),
                reverse_transaction_id: order_id.to_owned(),
                transaction_time: to_millis(OffsetDateTime::now_utc()),
                refund_amount: None,
            },
        };
        self.apply(tenant, refund.into()).await.map_err(|e| {
            if e.code() == ErrorCode::DuplicateTransaction {
                Error::conflict(
                    crate::Conflict::Other,
                    format!("order '{order_id}' was already reversed"),
                )
            } else {
                e
            }
        })
    }
}
