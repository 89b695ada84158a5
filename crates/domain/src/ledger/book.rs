//! One customer's points ledger: credit lots (pending → available → expired), debits oldest expiry first, holds, clawback debt; balances derived at an instant.
//!
//! Every change is an [`Entry`]: an operation first decides its entry (the only
//! place that can refuse), then [`Ledger::apply`] performs it. Replaying a
//! customer's stored entries in order therefore rebuilds the ledger exactly.
//! Time only enters through `now`: holds and lots expire lazily when the ledger
//! is next read or changed, so no sweeper is needed for correctness.

use crate::limits::MAX_BALANCE;
use serde::{Deserialize, Serialize};

/// Milliseconds since the epoch.
pub type Millis = i64;

pub const MINUTE: Millis = 60_000;
pub const DAY: Millis = 86_400_000;

/// Sums points without overflow: every sum the ledger forms is bounded by
/// [`MAX_BALANCE`] (a thousand times below `i64::MAX`), so saturation never
/// happens in practice; it only rules out wrapping.
pub(crate) fn sum(points: impl IntoIterator<Item = i64>) -> i64 {
    points.into_iter().fold(0, i64::saturating_add)
}

mod lot;
pub use lot::Lot;

/// Points taken from one lot; stored as `[lot, points]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(i64, i64)", into = "(i64, i64)")]
pub struct Take {
    pub lot: i64,
    pub points: i64,
}

impl From<(i64, i64)> for Take {
    fn from((lot, points): (i64, i64)) -> Take {
        Take { lot, points }
    }
}

impl From<Take> for (i64, i64) {
    fn from(t: Take) -> (i64, i64) {
        (t.lot, t.points)
    }
}

/// Points reserved from lots until used, released or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub reference: String,
    pub points: i64,
    pub expires_at: Millis,
    pub takes: Vec<Take>,
}

/// What one movement did to a ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Entry {
    /// A new lot of `points`, of which `debt_paid` went to paying a clawback debt.
    /// A `restored` credit gives back spent points (a refunded redemption): it
    /// does not count as earned.
    Credit {
        points: i64,
        available_at: Millis,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<Millis>,
        #[serde(default)]
        debt_paid: i64,
        #[serde(default, skip_serializing_if = "is_false")]
        restored: bool,
    },
    /// Points spent (a redemption or a deduction).
    Debit { takes: Vec<Take> },
    Hold {
        reference: String,
        points: i64,
        expires_at: Millis,
        takes: Vec<Take>,
    },
    /// A hold spent by a redemption: its reserved points are gone for good.
    HoldUsed { reference: String },
    /// A hold given back: its points return to their lots.
    HoldReleased { reference: String },
    /// Points taken back by a refund; what the lots could not cover becomes debt.
    Clawback { takes: Vec<Take>, debt: i64 },
}

impl Entry {
    /// The signed change of the customer's points (held points count as spent
    /// while held; a release gives them back).
    pub fn points_delta(&self, hold_points: impl Fn(&str) -> i64) -> i64 {
        let taken = |t: &[Take]| sum(t.iter().map(|t| t.points));
        match self {
            Entry::Credit { points, .. } => *points,
            Entry::Debit { takes } => taken(takes).saturating_neg(),
            Entry::Hold { points, .. } => points.saturating_neg(),
            Entry::HoldUsed { .. } => 0,
            Entry::HoldReleased { reference } => hold_points(reference),
            Entry::Clawback { takes, debt } => taken(takes).saturating_add(*debt).saturating_neg(),
        }
    }
}

/// Why a spending operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Fewer available points than asked.
    Insufficient { available: i64 },
    /// No active hold with that reference.
    NoSuchHold,
    /// The credit would take the customer's points (or lifetime earnings) past
    /// [`MAX_BALANCE`].
    BalanceLimit,
}

/// A balance at one instant (SPEC §5.3, in points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    /// Spendable now; negative only after a clawback left a debt.
    pub available: i64,
    pub pending: i64,
    pub held: i64,
    /// The soonest expiry among available points and how many expire then.
    pub next_expiring: Option<(Millis, i64)>,
    pub earned: i64,
}

impl Balance {
    /// Available plus pending; held points are in neither.
    pub fn total(&self) -> i64 {
        self.available.saturating_add(self.pending)
    }
}

/// One customer's open lots and active holds. Spent, expired and released
/// things are dropped from here; the movement log keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ledger {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lots: Vec<Lot>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<Hold>,
    /// Points owed after a clawback exceeded the customer's points.
    #[serde(skip_serializing_if = "is_zero")]
    pub debt: i64,
    /// Every point ever earned (credits, less what refunds clawed back).
    #[serde(skip_serializing_if = "is_zero")]
    pub earned: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

impl Ledger {
    pub fn is_empty(&self) -> bool {
        *self == Ledger::default()
    }

    /// Expires holds and drops lots that can no longer matter at `now`.
    pub fn settle(&mut self, now: Millis) {
        if self.holds.iter().any(|h| h.expires_at <= now) {
            let (expired, active): (Vec<Hold>, Vec<Hold>) = std::mem::take(&mut self.holds)
                .into_iter()
                .partition(|h| h.expires_at <= now);
            self.holds = active;
            for hold in expired {
                self.give_back(&hold.takes);
            }
        }
        let holds = &self.holds;
        let held = |id: i64| holds.iter().any(|h| h.takes.iter().any(|t| t.lot == id));
        self.lots
            .retain(|l| (l.remaining > 0 && !l.expired(now)) || held(l.id));
    }

    /// The balance at `now`.
    pub fn balance(&self, now: Millis) -> Balance {
        let mut settled = self.clone();
        settled.settle(now);
        let mut b = Balance {
            earned: self.earned,
            held: sum(settled.holds.iter().map(|h| h.points)),
            available: settled.debt.saturating_neg(),
            ..Balance::default()
        };
        for lot in &settled.lots {
            if lot.expired(now) || lot.remaining == 0 {
                continue;
            }
            if lot.available_at > now {
                b.pending = b.pending.saturating_add(lot.remaining);
                continue;
            }
            b.available = b.available.saturating_add(lot.remaining);
            if let Some(at) = lot.expires_at {
                b.next_expiring = match b.next_expiring {
                    Some((t, n)) if t == at => Some((t, n.saturating_add(lot.remaining))),
                    Some((t, n)) if t < at => Some((t, n)),
                    _ => Some((at, lot.remaining)),
                };
            }
        }
        b
    }

    /// Points spendable at `now` (after settling).
    fn available(&self, now: Millis) -> i64 {
        sum(self
            .lots
            .iter()
            .filter(|l| l.available(now))
            .map(|l| l.remaining))
        .saturating_sub(self.debt)
    }

    /// Every point the customer holds in lots or holds, pending or not.
    fn held_in_total(&self) -> i64 {
        sum(self
            .lots
            .iter()
            .map(|l| l.remaining)
            .chain(self.holds.iter().map(|h| h.points)))
    }

    /// Decides a credit of `points` (> 0); refused when it would take the
    /// customer's points or lifetime earnings past [`MAX_BALANCE`].
    pub fn credit(
        &mut self,
        now: Millis,
        points: i64,
        available_at: Millis,
        expires_at: Option<Millis>,
    ) -> Result<Entry, Refusal> {
        self.decide_credit(now, points, available_at, expires_at, false)
    }

    /// Decides giving back `points` of spent points, available at once.
    pub fn restore(
        &mut self,
        now: Millis,
        points: i64,
        expires_at: Option<Millis>,
    ) -> Result<Entry, Refusal> {
        self.decide_credit(now, points, now, expires_at, true)
    }

    fn decide_credit(
        &mut self,
        now: Millis,
        points: i64,
        available_at: Millis,
        expires_at: Option<Millis>,
        restored: bool,
    ) -> Result<Entry, Refusal> {
        self.settle(now);
        let within = |total: i64| total.checked_add(points).is_some_and(|t| t <= MAX_BALANCE);
        if !within(self.held_in_total()) || (!restored && !within(self.earned)) {
            return Err(Refusal::BalanceLimit);
        }
        Ok(Entry::Credit {
            points,
            available_at,
            expires_at,
            debt_paid: points.min(self.debt),
            restored,
        })
    }

    /// Decides spending `points` (> 0) of available points, soonest expiry first.
    pub fn debit(&mut self, now: Millis, points: i64) -> Result<Entry, Refusal> {
        self.settle(now);
        Ok(Entry::Debit {
            takes: self.plan_spend(now, points)?,
        })
    }

    /// Decides reserving `points` (> 0) until `expires_at`.
    pub fn hold(
        &mut self,
        now: Millis,
        reference: String,
        points: i64,
        expires_at: Millis,
    ) -> Result<Entry, Refusal> {
        self.settle(now);
        Ok(Entry::Hold {
            takes: self.plan_spend(now, points)?,
            reference,
            points,
            expires_at,
        })
    }

    /// The active hold with this reference at `now`.
    pub fn active_hold(&self, now: Millis, reference: &str) -> Option<&Hold> {
        self.holds
            .iter()
            .find(|h| h.reference == reference && h.expires_at > now)
    }

    /// Decides spending an active hold; returns its points too.
    pub fn use_hold(&mut self, now: Millis, reference: &str) -> Result<(Entry, i64), Refusal> {
        self.settle(now);
        let hold = self
            .active_hold(now, reference)
            .ok_or(Refusal::NoSuchHold)?;
        Ok((
            Entry::HoldUsed {
                reference: reference.to_owned(),
            },
            hold.points,
        ))
    }

    /// Decides giving an active hold back; returns its points too.
    pub fn release_hold(&mut self, now: Millis, reference: &str) -> Result<(Entry, i64), Refusal> {
        self.settle(now);
        let hold = self
            .active_hold(now, reference)
            .ok_or(Refusal::NoSuchHold)?;
        Ok((
            Entry::HoldReleased {
                reference: reference.to_owned(),
            },
            hold.points,
        ))
    }

    /// Decides taking back `points` (> 0): first from `lot` (the refunded credit),
    /// then from any unexpired lot, soonest expiry first; the rest becomes debt.
    pub fn clawback(&mut self, now: Millis, lot: Option<i64>, points: i64) -> Entry {
        self.settle(now);
        let mut order: Vec<&Lot> = self
            .lots
            .iter()
            .filter(|l| !l.expired(now) && l.remaining > 0)
            .collect();
        order.sort_by_key(|l| (Some(l.id) != lot, l.spend_key()));
        let (takes, short) = take_in_order(order, points);
        Entry::Clawback { takes, debt: short }
    }

    fn plan_spend(&self, now: Millis, points: i64) -> Result<Vec<Take>, Refusal> {
        let available = self.available(now);
        if available < points {
            return Err(Refusal::Insufficient { available });
        }
        let mut order: Vec<&Lot> = self
            .lots
            .iter()
            .filter(|l| l.available(now) && l.remaining > 0)
            .collect();
        order.sort_by_key(|l| l.spend_key());
        let (takes, short) = take_in_order(order, points);
        debug_assert_eq!(short, 0, "available covers the spend");
        Ok(takes)
    }

    /// Performs a decided entry. `id` is the movement's id (a credit's lot id).
    pub fn apply(&mut self, id: i64, entry: &Entry) {
        match entry {
            Entry::Credit {
                points,
                available_at,
                expires_at,
                debt_paid,
                restored,
            } => {
                if !restored {
                    self.earned = self.earned.saturating_add(*points);
                }
                self.debt = self.debt.saturating_sub(*debt_paid);
                let remaining = points.saturating_sub(*debt_paid);
                if remaining > 0 {
                    self.lots.push(Lot {
                        id,
                        remaining,
                        available_at: *available_at,
                        expires_at: *expires_at,
                    });
                }
            }
            Entry::Debit { takes } => self.take(takes),
            Entry::Hold {
                reference,
                points,
                expires_at,
                takes,
            } => {
                self.take(takes);
                self.holds.push(Hold {
                    reference: reference.clone(),
                    points: *points,
                    expires_at: *expires_at,
                    takes: takes.clone(),
                });
            }
            Entry::HoldUsed { reference } => {
                self.holds.retain(|h| &h.reference != reference);
                let holds = &self.holds;
                self.lots.retain(|l| {
                    l.remaining > 0 || holds.iter().any(|h| h.takes.iter().any(|t| t.lot == l.id))
                });
            }
            Entry::HoldReleased { reference } => {
                if let Some(i) = self.holds.iter().position(|h| &h.reference == reference) {
                    let hold = self.holds.swap_remove(i);
                    self.give_back(&hold.takes);
                }
            }
            Entry::Clawback { takes, debt } => {
                self.take(takes);
                self.debt = self.debt.saturating_add(*debt);
                // Points taken back were never really earned.
                let taken = sum(takes.iter().map(|t| t.points)).saturating_add(*debt);
                self.earned = self.earned.saturating_sub(taken);
            }
        }
    }

    /// Rebuilds a ledger from its movements `(id, at, entry)` in order.
    pub fn replay<'a>(movements: impl IntoIterator<Item = (i64, Millis, &'a Entry)>) -> Ledger {
        let mut ledger = Ledger::default();
        for (id, at, entry) in movements {
            ledger.settle(at);
            ledger.apply(id, entry);
        }
        ledger
    }

    fn take(&mut self, takes: &[Take]) {
        for t in takes {
            if let Some(lot) = self.lots.iter_mut().find(|l| l.id == t.lot) {
                lot.remaining = lot.remaining.saturating_sub(t.points);
                debug_assert!(lot.remaining >= 0, "a lot never goes negative");
            }
        }
    }

    fn give_back(&mut self, takes: &[Take]) {
        for t in takes {
            if let Some(lot) = self.lots.iter_mut().find(|l| l.id == t.lot) {
                lot.remaining = lot.remaining.saturating_add(t.points);
            }
        }
    }
}

/// Takes `points` from `lots` in the given order; returns the takes and what was left uncovered.
fn take_in_order(lots: Vec<&Lot>, mut points: i64) -> (Vec<Take>, i64) {
    let mut takes = Vec::new();
    for lot in lots {
        if points == 0 {
            break;
        }
        let n = lot.remaining.min(points);
        takes.push(Take {
            lot: lot.id,
            points: n,
        });
        points = points.saturating_sub(n);
    }
    (takes, points)
}

#[cfg(test)]
mod tests;
