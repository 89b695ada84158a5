//! The state a chunk runs on and the effects it produces: the types every rule shares (they import no rule).

use crate::customers::Profile;
use crate::ids::CustomerId;
use crate::ledger::{Ledger, Millis};
use crate::movement::{Movement, StoredMovement};
use crate::outcome::Outcome;
use crate::settings::ProgramSettings;
use rustc_hash::{FxHashMap, FxHashSet};

/// A stored customer.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub gameball_id: i64,
    pub customer_id: CustomerId,
    pub profile: Profile,
    pub ledger: Ledger,
}

/// What the store loaded for a chunk, and the context it runs in.
#[derive(Debug, Clone, Default)]
pub struct ChunkState {
    /// The existing customers among the chunk's keys.
    pub customers: FxHashMap<CustomerId, CustomerRecord>,
    /// Fresh `gameballId`s for the keys that do not exist yet and may be created.
    pub fresh_ids: FxHashMap<CustomerId, i64>,
    pub settings: ProgramSettings,
    /// The transaction ids among the chunk's that the tenant already used.
    pub used_transaction_ids: FxHashSet<String>,
    /// Fresh movement ids (`gameballTransactionId`s), used from the end.
    pub movement_ids: Vec<i64>,
    /// The stored movements naming the chunk's `reference_ids`.
    pub recorded: Vec<StoredMovement>,
    pub now: Millis,
    /// The job the chunk belongs to; `None` for a single call.
    pub job_id: Option<i64>,
}

/// A customer row to insert (`is_new`) or update, in its final state for the chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerWrite {
    pub record: CustomerRecord,
    pub is_new: bool,
    /// Which parts of an existing row changed.
    pub profile_changed: bool,
    pub ledger_changed: bool,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub gameball_id: i64,
    pub name: String,
    pub metadata: String,
    pub item_index: u32,
}

/// Everything a chunk does: rows to write and one outcome per item, in item order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkEffects {
    pub customer_writes: Vec<CustomerWrite>,
    pub events: Vec<NewEvent>,
    pub movements: Vec<Movement>,
    pub outcomes: Vec<Outcome>,
}

/// Customers a chunk changed, in order of first change, with what changed.
#[derive(Default)]
pub(crate) struct Touched {
    pub(crate) order: Vec<CustomerId>,
    /// Each customer in `order` → (profile changed, ledger changed).
    pub(crate) seen: FxHashMap<CustomerId, (bool, bool)>,
}

impl Touched {
    fn mark(&mut self, id: &CustomerId, profile: bool, ledger: bool) {
        match self.seen.get_mut(id) {
            Some(flags) => {
                flags.0 |= profile;
                flags.1 |= ledger;
            }
            None => {
                self.seen.insert(id.clone(), (profile, ledger));
                self.order.push(id.clone());
            }
        }
    }

    pub(crate) fn profile(&mut self, id: &CustomerId) {
        self.mark(id, true, false);
    }

    pub(crate) fn ledger(&mut self, id: &CustomerId) {
        self.mark(id, false, true);
    }
}

/// The customer's record in the chunk state, created with its fresh id when new.
pub(crate) fn customer_entry<'a>(
    customers: &'a mut FxHashMap<CustomerId, CustomerRecord>,
    fresh_ids: &FxHashMap<CustomerId, i64>,
    id: &CustomerId,
) -> &'a mut CustomerRecord {
    customers
        .entry(id.clone())
        .or_insert_with(|| CustomerRecord {
            gameball_id: *fresh_ids
                .get(id)
                .expect("the store allocates an id for every missing customer it may create"),
            customer_id: id.clone(),
            profile: Profile::new(),
            ledger: Ledger::default(),
        })
}
