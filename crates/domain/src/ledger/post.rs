//! Posting ledger operations to a chunk's state: the checks every movement passes (customer, uniqueness, time), the points maths, and the success entries.

use crate::ledger::parse::{LedgerItem, LedgerOp, Quantity, RedeemWith};
use crate::ledger::{Balance, DAY, Entry, MINUTE, Millis, Refusal};
use crate::limits::{MAX_BALANCE, MAX_POINTS};
use crate::movement::{Movement, MovementKind};
use crate::outcome::{ItemFailure, NaturalKey, Outcome};
use crate::settings::ProgramSettings;
use crate::state::{ChunkEffects, ChunkState, CustomerRecord, Touched, customer_entry};
use adjust::adjust;
pub(crate) use events::{event_reward_points, reward_events};
pub(crate) use orders::order_transactions;
use orders::{Order, order};
use refund::{Refund, refund};
use rust_decimal::Decimal;
use wire::ErrorCode;
use wire::{BalanceView, Success};

/// How far in the future a transaction time may be (SPEC §1.1, 9007).
pub const MAX_CLOCK_SKEW: Millis = 5 * MINUTE;

/// A balance as the API shows it, in the program's currency and names.
pub fn balance_view(b: &Balance, s: &ProgramSettings) -> BalanceView {
    let (date, expiring) = match b.next_expiring {
        Some((at, n)) => (Some(crate::fields::rfc3339(at)), n),
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

/// Posts one ledger item: checks, decides the entries, applies them to the customer's ledger.
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
    let key = match &item.op {
        LedgerOp::Order { order_id, .. } => Some(NaturalKey::order(order_id.clone())),
        LedgerOp::Refund {
            refund_transaction_id,
            ..
        } => Some(NaturalKey::Refund(refund_transaction_id.clone())),
        _ => transaction_id.clone().map(NaturalKey::transaction),
    };
    let customer = item.customer_id.clone();
    let existed = state.customers.contains_key(&customer);
    match post_checked(state, out, touched, index, item, transaction_id) {
        Ok(success) => Outcome::succeeded(index, success),
        Err(f) => {
            // A refused item records nothing, and creates no customer either.
            if !existed {
                state.customers.remove(&customer);
            }
            Outcome::failed(index, Some(customer.into_string()), f).with_key(key)
        }
    }
}

/// Records the movements of one item: each takes the next id and is applied at once,
/// so a later decision of the same item sees the earlier ones.
struct Book<'a> {
    record: &'a mut CustomerRecord,
    ids: &'a mut Vec<i64>,
    movements: &'a mut Vec<Movement>,
    now: Millis,
    index: u32,
}

/// One movement to record; the book fills in the id, the customer and the item.
struct Posting {
    kind: MovementKind,
    entry: Entry,
    points: i64,
    amount: Option<Decimal>,
    transaction_time: Millis,
    transaction_id: Option<String>,
    hold_reference: Option<String>,
    order_id: Option<String>,
    reverses: Option<String>,
}

impl Posting {
    fn new(kind: MovementKind, entry: Entry, points: i64, transaction_time: Millis) -> Posting {
        Posting {
            kind,
            entry,
            points,
            amount: None,
            transaction_time,
            transaction_id: None,
            hold_reference: None,
            order_id: None,
            reverses: None,
        }
    }
}

impl Book<'_> {
    /// The id the next movement will get.
    fn next_id(&self) -> i64 {
        *self
            .ids
            .last()
            .expect("the store allocates an id for every movement a chunk may record")
    }

    fn record(&mut self, p: Posting) -> i64 {
        let id = self
            .ids
            .pop()
            .expect("the store allocates an id for every movement a chunk may record");
        self.record.ledger.apply(id, &p.entry);
        self.movements.push(Movement {
            id,
            gameball_id: self.record.gameball_id,
            kind: p.kind,
            transaction_id: p.transaction_id,
            hold_reference: p.hold_reference,
            order_id: p.order_id,
            reverses: p.reverses,
            points: p.points,
            amount: p.amount,
            transaction_time: p.transaction_time,
            entry: p.entry,
            item_index: Some(self.index),
        });
        id
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
        recorded,
        now,
        ..
    } = state;
    let now = *now;
    // Only earning operations create customers, and they cannot be refused once
    // the customer exists (below), so no half-created customer is left behind.
    if !customers.contains_key(&item.customer_id) && !item.creates_customer() {
        return Err(ItemFailure::new(
            ErrorCode::CustomerNotFound,
            format!("customerId: no customer {:?}", item.customer_id.as_str()),
        ));
    }
    if let Some(id) = &transaction_id
        && used_transaction_ids.contains(id)
    {
        let field = match item.op {
            LedgerOp::Order { .. } => "orderId",
            LedgerOp::Refund { .. } => "refundTransactionId",
            _ => "transactionId",
        };
        return Err(ItemFailure::new(
            ErrorCode::DuplicateTransaction,
            format!("{field}: {id:?} was already used in this account"),
        ));
    }
    if let Some((field, at)) = item.transaction_time()
        && at > now.saturating_add(MAX_CLOCK_SKEW)
    {
        return Err(ItemFailure::new(
            ErrorCode::TransactionTimeInvalid,
            format!("{field}: more than 5 minutes in the future"),
        ));
    }
    let customer_id = item.customer_id.as_str().to_owned();
    let record = customer_entry(customers, fresh_ids, &item.customer_id);
    if let LedgerOp::Balance = item.op {
        let view = balance_view(&record.ledger.balance(now), settings);
        return Ok(Success::Balance {
            customer_id,
            balance: Box::new(view),
        });
    }
    let mut book = Book {
        record,
        ids: movement_ids,
        movements: &mut out.movements,
        now,
        index,
    };
    let tx = transaction_id.clone();
    let success = match item.op {
        LedgerOp::Balance => unreachable!("answered above"),
        LedgerOp::Adjust {
            quantity,
            expiry_after_days,
            ..
        } => adjust(
            &mut book,
            settings,
            quantity,
            expiry_after_days,
            customer_id,
            tx,
        )?,
        LedgerOp::Cashback {
            transaction_time,
            amount,
            return_window_days,
            ..
        } => cashback(
            &mut book,
            settings,
            customer_id,
            tx,
            transaction_time,
            amount,
            return_window_days,
        )?,
        LedgerOp::Redeem {
            transaction_time,
            with,
            ..
        } => redeem(&mut book, settings, customer_id, tx, transaction_time, with)?,
        LedgerOp::Hold {
            transaction_time,
            quantity,
        } => hold(&mut book, settings, customer_id, transaction_time, quantity)?,
        LedgerOp::Release { reference } => release(&mut book, reference)?,
        LedgerOp::Order {
            order_id,
            order_date,
            total_paid,
            return_window_days,
            hold_reference,
        } => order(
            &mut book,
            settings,
            customer_id,
            Order {
                order_id,
                order_date,
                total_paid,
                return_window_days,
                hold_reference,
            },
        )?,
        LedgerOp::Refund {
            refund_transaction_id,
            reverse_transaction_id,
            transaction_time,
            refund_amount,
        } => refund(
            &mut book,
            settings,
            recorded,
            Refund {
                customer_id,
                refund_transaction_id,
                reverse_transaction_id,
                transaction_time,
                refund_amount,
            },
        )?,
    };
    if let Some(t) = transaction_id {
        used_transaction_ids.insert(t);
    }
    touched.ledger(&item.customer_id);
    Ok(success)
}

/// Cashback (SPEC §5.5): earns floor(amount × factor ÷ threshold) points.
fn cashback(
    book: &mut Book<'_>,
    settings: &ProgramSettings,
    customer_id: String,
    transaction_id: Option<String>,
    transaction_time: Millis,
    amount: Decimal,
    return_window_days: Option<u32>,
) -> Result<Success, ItemFailure> {
    let points = settings
        .cashback_points(amount)
        .ok_or_else(|| too_many_points("amount"))?;
    let entry = earn(book, settings, points, transaction_time, return_window_days)
        .map_err(|r| refused(r, "amount", points))?;
    let mut p = Posting::new(MovementKind::Cashback, entry, points, transaction_time);
    p.amount = Some(amount);
    p.transaction_id = transaction_id.clone();
    let id = book.record(p);
    Ok(Success::Cashback {
        customer_id,
        transaction_id: transaction_id.unwrap_or_default(),
        gameball_transaction_id: id,
        reward_equivalent_points: points,
        reward_amount: settings.value_of(points),
    })
}

/// A redemption (SPEC §5.6): spends points, money's worth of points, or a hold.
fn redeem(
    book: &mut Book<'_>,
    settings: &ProgramSettings,
    customer_id: String,
    transaction_id: Option<String>,
    transaction_time: Millis,
    with: RedeemWith,
) -> Result<Success, ItemFailure> {
    let now = book.now;
    let ledger = &mut book.record.ledger;
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
            let p = settings
                .points_for_redemption(a)
                .ok_or_else(|| too_many_points("amount"))?;
            let e = ledger.debit(now, p).map_err(|r| refused(r, "amount", p))?;
            (e, p, a, None)
        }
    };
    let mut p = Posting::new(
        MovementKind::Redemption,
        entry,
        points.saturating_neg(),
        transaction_time,
    );
    p.amount = Some(value);
    p.transaction_id = transaction_id.clone();
    p.hold_reference = hold_reference;
    let id = book.record(p);
    Ok(Success::Redeemed {
        customer_id,
        transaction_id: transaction_id.unwrap_or_default(),
        gameball_transaction_id: id,
        redeem_equivalent_points: points,
        redeem_amount: value,
    })
}

/// A hold (SPEC §5.6): reserves points for the program's hold expiry.
fn hold(
    book: &mut Book<'_>,
    settings: &ProgramSettings,
    customer_id: String,
    transaction_time: Millis,
    quantity: Quantity,
) -> Result<Success, ItemFailure> {
    let (points, value, field) = match quantity {
        Quantity::Points(p) => (p, settings.value_of(p), "pointsToHold"),
        Quantity::Amount(a) => (
            settings
                .points_for_redemption(a)
                .ok_or_else(|| too_many_points("amountToHold"))?,
            a,
            "amountToHold",
        ),
    };
    let reference = hold_reference(book.next_id());
    let expires_at = book
        .now
        .saturating_add(i64::from(settings.hold_expiry_minutes).saturating_mul(MINUTE));
    let entry = book
        .record
        .ledger
        .hold(book.now, reference.clone(), points, expires_at)
        .map_err(|r| refused(r, field, points))?;
    let mut p = Posting::new(
        MovementKind::Hold,
        entry,
        points.saturating_neg(),
        transaction_time,
    );
    p.amount = Some(value);
    p.hold_reference = Some(reference.clone());
    book.record(p);
    Ok(Success::Held {
        customer_id,
        hold_reference: reference,
        hold_equivalent_points: points,
        hold_amount: value,
    })
}

/// Gives an active hold's points back.
fn release(book: &mut Book<'_>, reference: String) -> Result<Success, ItemFailure> {
    let (entry, points) = book
        .record
        .ledger
        .release_hold(book.now, &reference)
        .map_err(|r| refused(r, "holdReference", 0))?;
    let mut p = Posting::new(MovementKind::HoldRelease, entry, points, book.now);
    p.hold_reference = Some(reference);
    book.record(p);
    Ok(Success::Released {
        success: true,
        message: "Hold released successfully",
    })
}

/// Decides a credit of `points` earned at `at`: pending for the return window,
/// then expiring `pointsExpiryDays` after it became available.
fn earn(
    book: &mut Book<'_>,
    settings: &ProgramSettings,
    points: i64,
    at: Millis,
    return_window_days: Option<u32>,
) -> Result<Entry, Refusal> {
    let window = return_window_days.unwrap_or(settings.return_window_days);
    let available_at = after_days(at, window);
    let expires = settings
        .points_expiry_days
        .map(|d| after_days(available_at, d));
    book.record
        .ledger
        .credit(book.now, points, available_at, expires)
}

/// The instant `days` days after `at` (instants are far from `Millis`' bounds).
fn after_days(at: Millis, days: u32) -> Millis {
    at.saturating_add(i64::from(days).saturating_mul(DAY))
}

fn too_many_points(field: &str) -> ItemFailure {
    ItemFailure::invalid(format!(
        "{field}: worth more than {MAX_POINTS} points at this program's factors"
    ))
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
        Refusal::BalanceLimit => ItemFailure::invalid(format!(
            "{field}: {points} more points would take the customer past {MAX_BALANCE} points"
        )),
        Refusal::NoSuchHold => ItemFailure::new(
            ErrorCode::HoldNotFound,
            format!(
                "{field}: no active hold with this reference (unknown, used, released or expired)"
            ),
        ),
    }
}

mod adjust;
mod events;
mod orders;
mod refund;

#[cfg(test)]
mod tests;
