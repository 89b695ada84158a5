//! Event rewards (SPEC §5.2): the points an events item earns by the program's rewards, credited like a manual accumulation.

use super::{Book, Posting, after_days, refused, too_many_points};
use crate::ids::CustomerId;
use crate::limits::MAX_POINTS;
use crate::movement::MovementKind;
use crate::outcome::ItemFailure;
use crate::settings::ProgramSettings;
use crate::state::{ChunkEffects, ChunkState, Touched, customer_entry};

/// The points an events item's events earn: refused beyond [`MAX_POINTS`] in one item.
pub(crate) fn event_reward_points(
    settings: &ProgramSettings,
    names: &[String],
) -> Result<i64, ItemFailure> {
    names
        .iter()
        .filter_map(|n| settings.event_rewards.get(n))
        .try_fold(0i64, |total, p| total.checked_add(*p))
        .filter(|p| *p <= MAX_POINTS)
        .ok_or_else(|| too_many_points("events"))
}

/// Credits `points` (from [`event_reward_points`]) of event rewards; refused only
/// when the customer's balance would pass its limit (never for a new customer).
pub(crate) fn reward_events(
    state: &mut ChunkState,
    out: &mut ChunkEffects,
    touched: &mut Touched,
    index: u32,
    customer: &CustomerId,
    points: i64,
) -> Result<(), ItemFailure> {
    if points <= 0 {
        return Ok(());
    }
    let ChunkState {
        customers,
        fresh_ids,
        settings,
        movement_ids,
        now,
        ..
    } = state;
    let mut book = Book {
        record: customer_entry(customers, fresh_ids, customer),
        ids: movement_ids,
        movements: &mut out.movements,
        now: *now,
        index,
    };
    let expires = settings.points_expiry_days.map(|d| after_days(*now, d));
    let entry = book
        .record
        .ledger
        .credit(*now, points, *now, expires)
        .map_err(|r| refused(r, "events", points))?;
    book.record(Posting::new(MovementKind::EventReward, entry, points, *now));
    touched.ledger(customer);
    Ok(())
}
