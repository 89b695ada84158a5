//! Posting ledger operations to a chunk's state: the checks every movement passes (customer, uniqueness, time), the points maths, and the success entries.

use crate::chunk::{ChunkEffects, ChunkState, Touched};
use crate::ledger::{Balance, DAY, Entry, Ledger, MINUTE, Millis, Refusal};
use crate::outcome::{ItemFailure, NaturalKey, Outcome, Success};
use crate::settings::ProgramSettings;
use crate::transactions::{LedgerItem, LedgerOp, Quantity, RedeemWith};
use rust_decimal::Decimal;
use serde::Serialize;
use wire::ErrorCode;

/// How far in the future a transaction time may be (SPEC §1.1, 9007).
pub const MAX_CLOCK_SKEW: Millis = 5 * MINUTE;

/// One stored movement of points: the auditable history a ledger is rebuilt from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The `gameballTransactionId`.
    pub id: i64,
    pub gameball_id: i64,
    pub kind: MovementKind,
    pub transaction_id: Option<String>,
    pub hold_reference: Option<String>,
    /// The points the operation reported: positive earns, negative spends.
    pub points: i64,
    /// The money amount the operation named, when it named one.
    pub amount: Option<Decimal>,
    pub transaction_time: Millis,
    pub entry: Entry,
    pub item_index: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    Cashback,
    Redemption,
    Manual,
    Hold,
    HoldRelease,
    EventReward,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Cashback => "cashback",
            MovementKind::Redemption => "redemption",
            MovementKind::Manual => "manual",
            MovementKind::Hold => "hold",
            MovementKind::HoldRelease => "hold_release",
            MovementKind::EventReward => "event_reward",
        }
    }
}

/// A balance as the API shows it (SPEC §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceView {
    pub total_points_balance: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub total_points_value: Decimal,
    pub available_points_balance: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub available_points_value: Decimal,
    pub pending_points: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub pending_points_value: Decimal,
    pub currency: String,
    pub points_name: String,
    pub next_expiring_points_amount: i64,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub next_expiring_points_value: Decimal,
    pub next_expiring_points_date: Option<String>,
    pub total_earned_points: i64,
}

impl BalanceView {
    pub fn new(b: &Balance, s: &ProgramSettings) -> BalanceView {
        let (date, expiring) = match b.next_expiring {
            Some((at, n)) => (Some(rfc3339(at)), n),
            None => (None, 0),
        };
        BalanceView {
            total_points_balance: b.total(),
            total_points_value: s.value_of(b.total()),
            available_points_balance: b.available,
            available_points_value: s.value_of(b.available),
            pending_points: b.pending,
            pending_points_value: s.value_of(b.pending),
            currency: s.currency.clone(),
            points_name: s.points_name.clone(),
            next_expiring_points_amount: expiring,
            next_expiring_points_value: s.value_of(expiring),
            next_expiring_points_date: date,
            total_earned_points: b.earned,
        }
    }
}

/// An instant as RFC 3339 UTC with `Z`.
pub fn rfc3339(at: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Posts one ledger item: checks, decides the entry, applies it to the customer's ledger.
pub(crate) fn post(
    state: &mut ChunkState,
    out: &mut ChunkEffects,
    touched: &mut Touched,
    index: u32,
    item: LedgerItem,
) -> Outcome {
    let transaction_id = match (&item.op, item.transaction_id()) {
        // A batch adjustment without an id gets one derived from its place in the job.
        (LedgerOp::Adjust { .. }, None) => state.job_id.map(|job| format!("adj-{job}-{index}")),
        (_, id) => id.map(str::to_owned),
    };
    let key = transaction_id.clone().map(NaturalKey::transaction);
    let reported = item.customer_id.as_str().to_owned();
    match post_checked(state, out, touched, index, item, transaction_id) {
        Ok(success) => Outcome::succeeded(index, success),
        Err(f) => Outcome::failed(index, Some(reported), f).with_key(key),
    }
}

fn post_checked(
    state: &mut ChunkState,
    out: &mut ChunkEffects,
    touched: &mut Touched,
    index: u32,
    item: LedgerItem,
    transaction_id: Option<String>,
) -> Result<Success, ItemFailure> {
    let ChunkState {
        customers,
        fresh_ids,
        settings,
        movement_ids,
        used_transaction_ids,
        now,
        ..
    } = state;
    let now = *now;
    // Only earning operations create customers, and they cannot be refused
    // after this point, so no half-created customer is left behind.
    if !customers.contains_key(&item.customer_id) && !item.creates_customer() {
        return Err(ItemFailure::new(
            ErrorCode::CustomerNotFound,
            format!("customerId: no customer {:?}", item.customer_id.as_str()),
        ));
    }
    if let Some(id) = &transaction_id
        && used_transaction_ids.contains(id)
    {
        return Err(ItemFailure::new(
            ErrorCode::DuplicateTransaction,
            format!("transactionId: {id:?} was already used in this account"),
        ));
    }
    if let LedgerOp::Cashback {
        transaction_time, ..
    }
    | LedgerOp::Redeem {
        transaction_time, ..
    }
    | LedgerOp::Hold {
        transaction_time, ..
    } = &item.op
        && *transaction_time > now + MAX_CLOCK_SKEW
    {
        return Err(ItemFailure::new(
            ErrorCode::TransactionTimeInvalid,
            "transactionTime: more than 5 minutes in the future",
        ));
    }
    let record = crate::chunk::customer_entry(customers, fresh_ids, &item.customer_id);
    let customer_id = item.customer_id.as_str().to_owned();
    if let LedgerOp::Balance = item.op {
        let view = BalanceView::new(&record.ledger.balance(now), settings);
        return Ok(Success::Balance {
            customer_id,
            balance: Box::new(view),
        });
    }
    let id = *movement_ids
        .last()
        .expect("the store allocates an id for every ledger item");
    let decided = decide(&mut record.ledger, settings, now, id, item.op)?;
    movement_ids.pop();
    record.ledger.apply(id, &decided.entry);
    if let Some(t) = &transaction_id {
        used_transaction_ids.insert(t.clone());
    }
    touched.ledger(&item.customer_id);
    let success = decided.success(customer_id, transaction_id.clone(), id);
    out.movements.push(Movement {
        id,
        gameball_id: record.gameball_id,
        kind: decided.kind,
        transaction_id,
        hold_reference: decided.hold_reference,
        points: decided.points,
        amount: decided.amount,
        transaction_time: decided.transaction_time,
        entry: decided.entry,
        item_index: Some(index),
    });
    Ok(success)
}

/// What an operation decided, before it is applied.
struct Decided {
    kind: MovementKind,
    /// Signed: positive earns, negative spends.
    points: i64,
    amount: Option<Decimal>,
    /// The money value reported in the success entry.
    value: Decimal,
    transaction_time: Millis,
    hold_reference: Option<String>,
    entry: Entry,
}

impl Decided {
    fn success(&self, customer_id: String, transaction_id: Option<String>, id: i64) -> Success {
        let transaction_id = transaction_id.unwrap_or_default();
        match self.kind {
            MovementKind::Manual | MovementKind::EventReward => Success::Adjusted {
                customer_id,
                transaction_id,
                gameball_transaction_id: id,
                points: self.points,
            },
            MovementKind::Cashback => Success::Cashback {
                customer_id,
                transaction_id,
                gameball_transaction_id: id,
                reward_equivalent_points: self.points,
                reward_amount: self.value,
            },
            MovementKind::Redemption => Success::Redeemed {
                customer_id,
                transaction_id,
                gameball_transaction_id: id,
                redeem_equivalent_points: -self.points,
                redeem_amount: self.value,
            },
            MovementKind::Hold => Success::Held {
                customer_id,
                hold_reference: self.hold_reference.clone().unwrap_or_default(),
                hold_equivalent_points: -self.points,
                hold_amount: self.value,
            },
            MovementKind::HoldRelease => Success::Released {
                success: true,
                message: "Hold released successfully",
            },
        }
    }
}

/// Decides one operation's entry on `ledger`; `id` is the movement's id.
fn decide(
    ledger: &mut Ledger,
    settings: &ProgramSettings,
    now: Millis,
    id: i64,
    op: LedgerOp,
) -> Result<Decided, ItemFailure> {
    let d = match op {
        LedgerOp::Balance => unreachable!("a balance inquiry moves nothing"),
        LedgerOp::Adjust {
            quantity,
            expiry_after_days,
            ..
        } => {
            let (points, amount) = match quantity {
                Quantity::Points(p) => (p, None),
                Quantity::Amount(a) => (settings.points_for_adjustment(a), Some(a)),
            };
            let entry = match points {
                0 => return Err(ItemFailure::invalid("amount: worth less than one point")),
                p if p > 0 => {
                    let expires = expiry_after_days
                        .or(settings.points_expiry_days)
                        .map(|d| now + i64::from(d) * DAY);
                    ledger.credit(now, p, now, expires)
                }
                p => ledger
                    .debit(now, -p)
                    .map_err(|r| refused(r, "amount", -p))?,
            };
            Decided {
                kind: MovementKind::Manual,
                points,
                amount,
                value: settings.value_of(points),
                transaction_time: now,
                hold_reference: None,
                entry,
            }
        }
        LedgerOp::Cashback {
            transaction_time,
            amount,
            return_window_days,
            ..
        } => {
            let points = settings.cashback_points(amount);
            let window = return_window_days.unwrap_or(settings.return_window_days);
            let available_at = transaction_time + i64::from(window) * DAY;
            let expires = settings
                .points_expiry_days
                .map(|d| available_at + i64::from(d) * DAY);
            Decided {
                kind: MovementKind::Cashback,
                points,
                amount: Some(amount),
                value: settings.value_of(points),
                transaction_time,
                hold_reference: None,
                entry: ledger.credit(now, points, available_at, expires),
            }
        }
        LedgerOp::Redeem {
            transaction_time,
            with,
            ..
        } => {
            let (entry, points, value, hold_reference) = match with {
                RedeemWith::Hold(reference) => {
                    let (e, p) = ledger
                        .use_hold(now, &reference)
                        .map_err(|r| refused(r, "holdReference", 0))?;
                    (e, p, settings.value_of(p), Some(reference))
                }
                RedeemWith::Quantity(Quantity::Points(p)) => (
                    ledger.debit(now, p).map_err(|r| refused(r, "points", p))?,
                    p,
                    settings.value_of(p),
                    None,
                ),
                RedeemWith::Quantity(Quantity::Amount(a)) => {
                    let p = settings.points_for_redemption(a);
                    (
                        ledger.debit(now, p).map_err(|r| refused(r, "amount", p))?,
                        p,
                        a,
                        None,
                    )
                }
            };
            Decided {
                kind: MovementKind::Redemption,
                points: -points,
                amount: Some(value),
                value,
                transaction_time,
                hold_reference,
                entry,
            }
        }
        LedgerOp::Hold {
            transaction_time,
            quantity,
        } => {
            let (points, value, field) = match quantity {
                Quantity::Points(p) => (p, settings.value_of(p), "pointsToHold"),
                Quantity::Amount(a) => (settings.points_for_redemption(a), a, "amountToHold"),
            };
            let reference = hold_reference(id);
            let expires_at = now + i64::from(settings.hold_expiry_minutes) * MINUTE;
            let entry = ledger
                .hold(now, reference.clone(), points, expires_at)
                .map_err(|r| refused(r, field, points))?;
            Decided {
                kind: MovementKind::Hold,
                points: -points,
                amount: Some(value),
                value,
                transaction_time,
                hold_reference: Some(reference),
                entry,
            }
        }
        LedgerOp::Release { reference } => {
            let (entry, points) = ledger
                .release_hold(now, &reference)
                .map_err(|r| refused(r, "holdReference", 0))?;
            Decided {
                kind: MovementKind::HoldRelease,
                points,
                amount: None,
                value: settings.value_of(points),
                transaction_time: now,
                hold_reference: Some(reference),
                entry,
            }
        }
    };
    Ok(d)
}

/// Credits the event rewards an events item earned; returns the points (0 when none).
pub(crate) fn reward_events(
    state: &mut ChunkState,
    out: &mut ChunkEffects,
    touched: &mut Touched,
    index: u32,
    customer: &crate::ids::CustomerId,
    names: &[String],
) -> i64 {
    let points: i64 = names
        .iter()
        .filter_map(|n| state.settings.event_rewards.get(n))
        .sum();
    if points <= 0 {
        return 0;
    }
    let ChunkState {
        customers,
        fresh_ids,
        settings,
        movement_ids,
        now,
        ..
    } = state;
    let id = movement_ids
        .pop()
        .expect("the store allocates an id for every rewarded events item");
    let record = crate::chunk::customer_entry(customers, fresh_ids, customer);
    let expires = settings
        .points_expiry_days
        .map(|d| *now + i64::from(d) * DAY);
    let entry = record.ledger.credit(*now, points, *now, expires);
    record.ledger.apply(id, &entry);
    touched.ledger(customer);
    out.movements.push(Movement {
        id,
        gameball_id: record.gameball_id,
        kind: MovementKind::EventReward,
        transaction_id: None,
        hold_reference: None,
        points,
        amount: None,
        transaction_time: *now,
        entry,
        item_index: Some(index),
    });
    points
}

/// A hold's reference, unique per tenant because movement ids are.
pub fn hold_reference(movement_id: i64) -> String {
    format!("hold-{movement_id}")
}

fn refused(r: Refusal, field: &str, points: i64) -> ItemFailure {
    match r {
        Refusal::Insufficient { available } => ItemFailure::new(
            ErrorCode::InsufficientPoints,
            format!(
                "{field}: needs {points} points but only {} are available",
                available.max(0)
            ),
        ),
        Refusal::NoSuchHold => ItemFailure::new(
            ErrorCode::HoldNotFound,
            format!(
                "{field}: no active hold with this reference (unknown, used, released or expired)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
