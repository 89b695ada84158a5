//! Manual adjustments (SPEC §5.4): signed points, or money converted at the redemption factor.

use super::{Book, Posting, after_days, refused, too_many_points};
use crate::ledger::parse::Quantity;
use crate::movement::MovementKind;
use crate::outcome::ItemFailure;
use crate::settings::ProgramSettings;
use wire::Success;

pub(super) fn adjust(
    book: &mut Book<'_>,
    settings: &ProgramSettings,
    quantity: Quantity,
    expiry_after_days: Option<u32>,
    customer_id: String,
    transaction_id: Option<String>,
) -> Result<Success, ItemFailure> {
    let now = book.now;
    let (points, amount) = match quantity {
        Quantity::Points(p) => (p, None),
        Quantity::Amount(a) => (
            settings
                .points_for_adjustment(a)
                .ok_or_else(|| too_many_points("amount"))?,
            Some(a),
        ),
    };
    let entry = match points {
        0 => return Err(ItemFailure::invalid("amount: worth less than one point")),
        p if p > 0 => {
            let expires = expiry_after_days
                .or(settings.points_expiry_days)
                .map(|d| after_days(now, d));
            book.record
                .ledger
                .credit(now, p, now, expires)
                .map_err(|r| refused(r, "amount", p))?
        }
        p => {
            let spent = p.saturating_neg();
            book.record
                .ledger
                .debit(now, spent)
                .map_err(|r| refused(r, "amount", spent))?
        }
    };
    let mut p = Posting::new(MovementKind::Manual, entry, points, now);
    p.amount = amount;
    p.transaction_id = transaction_id.clone();
    let id = book.record(p);
    Ok(Success::Adjusted {
        customer_id,
        transaction_id: transaction_id.clone().unwrap_or_default(),
        gameball_transaction_id: id,
        points,
    })
}
