//! Orders (SPEC §5.7, §5.8): an order earns on what was paid and may spend a hold; an order's movements are listed oldest first.

use super::{Book, Posting, earn, refused, too_many_points};
use crate::ledger::Millis;
use crate::movement::{MovementKind, StoredMovement};
use crate::outcome::{ItemFailure, NaturalKey, Outcome};
use crate::settings::ProgramSettings;
use rust_decimal::Decimal;
use wire::{ErrorCode, OrderTransaction, Success};

pub(super) struct Order {
    pub(super) order_id: String,
    pub(super) order_date: Millis,
    pub(super) total_paid: Decimal,
    pub(super) return_window_days: Option<u32>,
    pub(super) hold_reference: Option<String>,
}

/// An order (SPEC §5.7): earns on `totalPaid` and spends its hold, if it names one.
pub(super) fn order(
    book: &mut Book<'_>,
    settings: &ProgramSettings,
    customer_id: String,
    o: Order,
) -> Result<Success, ItemFailure> {
    // Every refusable step comes first: nothing is recorded if one fails.
    let redeemed = match &o.hold_reference {
        Some(r) => Some(
            book.record
                .ledger
                .use_hold(book.now, r)
                .map_err(|e| refused(e, "redemption.pointsHoldReference", 0))?,
        ),
        None => None,
    };
    let points = settings
        .cashback_points(o.total_paid)
        .ok_or_else(|| too_many_points("totalPaid"))?;
    let entry = earn(book, settings, points, o.order_date, o.return_window_days)
        .map_err(|r| refused(r, "totalPaid", points))?;
    let mut p = Posting::new(MovementKind::Order, entry, points, o.order_date);
    p.amount = Some(o.total_paid);
    p.transaction_id = Some(o.order_id.clone());
    p.order_id = Some(o.order_id.clone());
    let id = book.record(p);
    let mut redeemed_points = 0;
    if let Some((entry, held)) = redeemed {
        let mut p = Posting::new(
            MovementKind::Redemption,
            entry,
            held.saturating_neg(),
            o.order_date,
        );
        p.amount = Some(settings.value_of(held));
        p.hold_reference = o.hold_reference;
        p.order_id = Some(o.order_id.clone());
        book.record(p);
        redeemed_points = held;
    }
    Ok(Success::Order {
        customer_id,
        order_id: o.order_id,
        gameball_transaction_id: id,
        rewarded_points: points,
        redeemed_points,
    })
}

/// The movements of one order, oldest first; an unknown order fails with 4004.
pub(crate) fn order_transactions(
    recorded: &[StoredMovement],
    index: u32,
    order_id: String,
) -> Outcome {
    let transactions: Vec<OrderTransaction> = recorded
        .iter()
        .filter(|m| m.order_id.as_deref() == Some(order_id.as_str()))
        .map(|m| OrderTransaction {
            transaction_date: crate::fields::rfc3339(m.transaction_time),
            gameball_transaction_id: m.id,
            transaction_type: m.kind.as_str().to_owned(),
            amount: m.amount,
            transaction_id: m.transaction_id.clone(),
            equivalent_points: m.points,
        })
        .collect();
    if transactions.is_empty() {
        return Outcome::failed(
            index,
            Some(order_id.clone()),
            ItemFailure::new(
                ErrorCode::NotFound,
                format!("orderId: no order {order_id:?}"),
            ),
        )
        .with_key(Some(NaturalKey::order(order_id)));
    }
    Outcome::succeeded(
        index,
        Success::OrderTransactions {
            order_id,
            count: transactions.len(),
            transactions,
        },
    )
}
