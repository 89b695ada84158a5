//! Movement rows as stores return them, and a hold's state derived from the movements that name it.

use domain::ledger::{Entry, Millis};
use time::OffsetDateTime;

/// A stored movement, as stores read it back.
pub type MovementRow = domain::movement::StoredMovement;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldState {
    Active,
    Used,
    Released,
    Expired,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Active => "active",
            HoldState::Used => "used",
            HoldState::Released => "released",
            HoldState::Expired => "expired",
        }
    }
}

/// A hold as `GET /transactions/hold/{ref}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    pub customer_id: String,
    pub points: i64,
    pub amount: Option<rust_decimal::Decimal>,
    pub state: HoldState,
    pub expires_at: OffsetDateTime,
}

/// The hold's state at `now` from the movements naming its reference, oldest first.
pub fn hold_record(customer_id: String, rows: &[MovementRow], now: Millis) -> Option<HoldRecord> {
    let (first, later) = rows.split_first()?;
    let Entry::Hold {
        points, expires_at, ..
    } = &first.entry
    else {
        return None;
    };
    let state = match later.iter().find_map(|r| match r.entry {
        Entry::HoldUsed { .. } => Some(HoldState::Used),
        Entry::HoldReleased { .. } => Some(HoldState::Released),
        _ => None,
    }) {
        Some(s) => s,
        None if *expires_at <= now => HoldState::Expired,
        None => HoldState::Active,
    };
    Some(HoldRecord {
        customer_id,
        points: *points,
        amount: first.amount,
        state,
        expires_at: crate::from_millis(*expires_at),
    })
}
