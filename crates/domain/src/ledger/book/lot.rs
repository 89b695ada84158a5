//! A lot: points earned by one credit, with when they become available and when they expire; stored compactly.

use super::Millis;
use serde::{Deserialize, Serialize};

/// Points earned by one credit, pending until `available_at`, spendable until `expires_at`.
/// Stored compactly as `[id, remaining, availableAt]` or `[id, remaining, availableAt, expiresAt]`:
/// a customer's ledger is read and rewritten by every movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    /// The movement that credited it.
    pub id: i64,
    /// Points not yet spent, held or clawed back. Never negative.
    pub remaining: i64,
    pub available_at: Millis,
    pub expires_at: Option<Millis>,
}

impl Serialize for Lot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.expires_at {
            None => (self.id, self.remaining, self.available_at).serialize(s),
            Some(e) => (self.id, self.remaining, self.available_at, e).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Lot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LotVisitor;
        impl<'de> serde::de::Visitor<'de> for LotVisitor {
            type Value = Lot;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[id, remaining, availableAt, expiresAt?]")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lot, A::Error> {
                let mut next = |what: usize| {
                    seq.next_element::<i64>()?
                        .ok_or_else(|| serde::de::Error::invalid_length(what, &self))
                };
                let (id, remaining, available_at) = (next(0)?, next(1)?, next(2)?);
                Ok(Lot {
                    id,
                    remaining,
                    available_at,
                    expires_at: seq.next_element()?,
                })
            }
        }
        d.deserialize_seq(LotVisitor)
    }
}

impl Lot {
    pub(super) fn expired(&self, now: Millis) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    pub(super) fn available(&self, now: Millis) -> bool {
        self.available_at <= now && !self.expired(now)
    }

    /// Spending order: soonest expiry first, never-expiring last, then oldest.
    pub(super) fn spend_key(&self) -> (Millis, Millis, i64) {
        (
            self.expires_at.unwrap_or(Millis::MAX),
            self.available_at,
            self.id,
        )
    }
}
