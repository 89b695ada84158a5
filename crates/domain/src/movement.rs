//! Movements: what one ledger operation recorded (the auditable history a ledger is rebuilt from), as a chunk writes it and a store reads it back.

use crate::ledger::{Entry, Millis};
use rust_decimal::Decimal;

/// One movement of points as a chunk records it: the auditable history a ledger is rebuilt from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The `gameballTransactionId`.
    pub id: i64,
    pub gameball_id: i64,
    pub kind: MovementKind,
    pub transaction_id: Option<String>,
    pub hold_reference: Option<String>,
    /// The order it belongs to (an order's earning and redemption, and their refunds).
    pub order_id: Option<String>,
    /// The transaction a refund reverses.
    pub reverses: Option<String>,
    /// The points the operation reported: positive earns, negative spends.
    pub points: i64,
    /// The money amount the operation named, when it named one.
    pub amount: Option<Decimal>,
    pub transaction_time: Millis,
    pub entry: Entry,
    pub item_index: Option<u32>,
}

/// A movement as a store reads it back: the movement, and when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMovement {
    pub movement: Movement,
    /// The instant its entry was decided at (what a replay settles at).
    pub created_at: Millis,
}

impl std::ops::Deref for StoredMovement {
    type Target = Movement;

    fn deref(&self) -> &Movement {
        &self.movement
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    Cashback,
    Order,
    Redemption,
    Manual,
    Hold,
    HoldRelease,
    EventReward,
    /// A refund: its clawback of an earning, or its restoring of a redemption.
    Refund,
    /// The points an order redeemed, given back by the order's full refund.
    RefundRestore,
}

impl MovementKind {
    const ALL: [MovementKind; 9] = [
        MovementKind::Cashback,
        MovementKind::Order,
        MovementKind::Redemption,
        MovementKind::Manual,
        MovementKind::Hold,
        MovementKind::HoldRelease,
        MovementKind::EventReward,
        MovementKind::Refund,
        MovementKind::RefundRestore,
    ];

    /// The kind a stored `kind` column names.
    pub fn parse(s: &str) -> Option<MovementKind> {
        MovementKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Cashback => "cashback",
            MovementKind::Order => "order",
            MovementKind::Redemption => "redemption",
            MovementKind::Manual => "manual",
            MovementKind::Hold => "hold",
            MovementKind::HoldRelease => "hold_release",
            MovementKind::EventReward => "event_reward",
            MovementKind::Refund => "refund",
            MovementKind::RefundRestore => "refund_restore",
        }
    }
}

/// The transaction types the listings show and filter by (`type`), each with
/// the stored kinds it covers and, for the manual ones, its direction.
pub const TRANSACTION_TYPES: &[(&str, &[MovementKind], Option<bool>)] = &[
    (
        "PaymentReward",
        &[MovementKind::Cashback, MovementKind::Order],
        None,
    ),
    ("Redemption", &[MovementKind::Redemption], None),
    (
        "Refund",
        &[MovementKind::Refund, MovementKind::RefundRestore],
        None,
    ),
    ("AchievementReward", &[MovementKind::EventReward], None),
    ("ManualAccumulation", &[MovementKind::Manual], Some(true)),
    ("ManualDeduction", &[MovementKind::Manual], Some(false)),
    ("Hold", &[MovementKind::Hold], None),
    ("HoldRelease", &[MovementKind::HoldRelease], None),
];

/// Every transaction type, as the `type` filter takes it.
pub const TRANSACTION_TYPE_NAMES: [&str; 8] = [
    "PaymentReward",
    "Redemption",
    "Refund",
    "AchievementReward",
    "ManualAccumulation",
    "ManualDeduction",
    "Hold",
    "HoldRelease",
];

/// The type a stored movement is listed as.
pub fn transaction_type(kind: &str, points: i64) -> &'static str {
    match MovementKind::parse(kind) {
        Some(MovementKind::Manual) if points < 0 => "ManualDeduction",
        Some(MovementKind::Manual) => "ManualAccumulation",
        Some(k) => TRANSACTION_TYPES
            .iter()
            .find(|(_, kinds, _)| kinds.contains(&k))
            .map_or("Other", |(name, _, _)| name),
        None => "Other",
    }
}

#[cfg(test)]
mod transaction_type_tests {
    use super::*;

    #[test]
    fn every_type_name_is_listed() {
        let names: Vec<&str> = TRANSACTION_TYPES.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, TRANSACTION_TYPE_NAMES);
    }

    #[test]
    fn types_name_their_kinds_and_manual_ones_their_direction() {
        assert_eq!(transaction_type("cashback", 5), "PaymentReward");
        assert_eq!(transaction_type("order", 5), "PaymentReward");
        assert_eq!(transaction_type("manual", -5), "ManualDeduction");
        assert_eq!(transaction_type("manual", 5), "ManualAccumulation");
        assert_eq!(transaction_type("refund_restore", 5), "Refund");
        assert_eq!(transaction_type("nonsense", 5), "Other");
    }
}
