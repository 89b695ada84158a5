//! Refunds (SPEC §5.9): claw back what an earning earned, or give back what a redemption spent, cumulatively over partial refunds.

use super::{Book, Posting, after_days, refused};
use crate::ledger::{Millis, sum};
use crate::movement::{MovementKind, StoredMovement};
use crate::outcome::ItemFailure;
use crate::settings::ProgramSettings;
use rust_decimal::Decimal;
use wire::{ErrorCode, Success};

pub(super) struct Refund {
    pub(super) customer_id: String,
    pub(super) refund_transaction_id: String,
    pub(super) reverse_transaction_id: String,
    pub(super) transaction_time: Millis,
    pub(super) refund_amount: Option<Decimal>,
}

/// A refund (SPEC §5.9). Of an earning (cashback or order): claws back
/// floor(points × refunded ÷ paid), counted over all its refunds so partial
/// refunds add up exactly; the refund that completes an order also restores
/// the points the order redeemed. Of a redemption: restores its points the same way.
pub(super) fn refund(
    book: &mut Book<'_>,
    settings: &ProgramSettings,
    recorded: &[StoredMovement],
    r: Refund,
) -> Result<Success, ItemFailure> {
    let reversed = &r.reverse_transaction_id;
    let original = recorded
        .iter()
        .find(|m| {
            m.transaction_id.as_deref() == Some(reversed)
                && m.gameball_id == book.record.gameball_id
        })
        .ok_or_else(|| {
            ItemFailure::new(
                ErrorCode::TransactionNotFound,
                format!("reverseTransactionId: no transaction {reversed:?} of this customer"),
            )
        })?;
    let earning = match original.kind {
        MovementKind::Cashback | MovementKind::Order => true,
        MovementKind::Redemption => false,
        _ => {
            return Err(ItemFailure::invalid(
                "reverseTransactionId: only a cashback, an order or a redemption can be refunded",
            ));
        }
    };
    let paid = original.amount.unwrap_or_default();
    // Amounts are bounded (10^12 each, refunds never past the payment): the sums are exact.
    let before: Decimal = recorded
        .iter()
        .filter(|m| m.kind == MovementKind::Refund && m.reverses.as_deref() == Some(reversed))
        .filter_map(|m| m.amount)
        .fold(Decimal::ZERO, Decimal::saturating_add);
    let remaining = paid.saturating_sub(before);
    if remaining <= Decimal::ZERO {
        return Err(ItemFailure::new(
            ErrorCode::StateConflict,
            format!("reverseTransactionId: {reversed:?} was already refunded in full"),
        ));
    }
    let amount = r.refund_amount.unwrap_or(remaining);
    if amount > remaining {
        return Err(ItemFailure::invalid(format!(
            "refundAmount: only {remaining} of {paid} is left to refund"
        )));
    }
    // Cumulative: the points for everything refunded so far, minus what earlier refunds moved.
    let share = |refunded: Decimal, points: i64| -> i64 {
        if paid.is_zero() {
            return points;
        }
        Decimal::from(points)
            .checked_mul(refunded)
            .and_then(|p| p.checked_div(paid))
            .and_then(|p| i64::try_from(p.floor()).ok())
            .unwrap_or(points)
    };
    let original_points = original.points.saturating_abs();
    let refunded = before.saturating_add(amount);
    let moved = share(refunded, original_points).saturating_sub(share(before, original_points));
    let now = book.now;
    let expires = settings.points_expiry_days.map(|d| after_days(now, d));
    let completes = refunded == paid;
    let redeemed: i64 = match &original.order_id {
        Some(order) if earning && completes => sum(recorded
            .iter()
            .filter(|m| m.kind == MovementKind::Redemption && m.order_id.as_deref() == Some(order))
            .map(|m| m.points.saturating_abs())),
        _ => 0,
    };
    // A refund too small for one point still records itself (an entry that moves nothing).
    let entry = if earning {
        book.record.ledger.clawback(now, Some(original.id), moved)
    } else {
        book.record
            .ledger
            .restore(now, moved, expires)
            .map_err(|r| refused(r, "refundAmount", moved))?
    };
    // Both of a refund's movements are decided before either is recorded.
    let restore = if redeemed > 0 {
        let mut after = book.record.ledger.clone();
        after.apply(book.next_id(), &entry);
        Some(
            after
                .restore(now, redeemed, expires)
                .map_err(|r| refused(r, "reverseTransactionId", redeemed))?,
        )
    } else {
        None
    };
    let mut p = Posting::new(
        MovementKind::Refund,
        entry,
        if earning {
            moved.saturating_neg()
        } else {
            moved
        },
        r.transaction_time,
    );
    p.amount = Some(amount);
    p.transaction_id = Some(r.refund_transaction_id.clone());
    p.reverses = Some(reversed.clone());
    p.order_id = original.order_id.clone();
    let id = book.record(p);
    if let Some(entry) = restore {
        let mut p = Posting::new(
            MovementKind::RefundRestore,
            entry,
            redeemed,
            r.transaction_time,
        );
        p.reverses = Some(reversed.clone());
        p.order_id = original.order_id.clone();
        book.record(p);
    }
    Ok(Success::Refunded {
        customer_id: r.customer_id,
        refund_transaction_id: r.refund_transaction_id,
        gameball_transaction_id: id,
        refund_amount: amount,
        refund_equivalent_points: moved,
    })
}
