//! The chunk transaction's rules, once for every backend: the fence, what a chunk loads, how the loaded rows become the domain's state, and what a commit writes to its job. Backends keep only the SQL around them.
//!
//! Every backend runs the same script inside one transaction:
//! 1. read the job's [`JobProgress`] (locked) and [`check_fence`];
//! 2. load what [`Needs::of`] the items asks for;
//! 3. allocate ids for [`Needs::missing`] customers and [`ChunkItems::movements_needed`];
//! 4. [`Needs::state`] → `domain::chunk::apply` → effects;
//! 5. write the effects, then the job's [`Advance`].

use crate::types::*;
use crate::{MovementRow, final_state};
use domain::ledger::Ledger;
use domain::outcome::{RenderedOutcomes, render};
use domain::settings::ProgramSettings;
use domain::state::ChunkState;
use domain::{ChunkEffects, ChunkItems, CustomerId, CustomerRecord, Outcome};
use rustc_hash::FxHashMap;
use time::OffsetDateTime;
use wire::{ErrorCode, JobState};

/// The job row as a chunk commit reads it (under a lock where the database has row locks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProgress {
    pub status: String,
    pub token: i64,
    pub cursor: u32,
    pub item_count: u32,
    pub finished_count: u32,
    pub error_count: u32,
}

/// The fence: a stop, a takeover or a concurrent commit makes the chunk void.
pub fn check_fence(
    job: Option<&JobProgress>,
    fence: Fence,
    from: u32,
) -> Result<&JobProgress, StoreError> {
    match job {
        Some(j)
            if j.status == JobState::Running.as_str()
                && j.token == fence.token
                && j.cursor == from =>
        {
            Ok(j)
        }
        _ => Err(StoreError::Fenced),
    }
}

/// What a chunk reads, derived from its items alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    /// The distinct customers, each with whether an item may create it.
    pub customers: Vec<(CustomerId, bool)>,
    /// The transaction ids the items would use (locked and checked for reuse).
    pub transaction_ids: Vec<String>,
    /// Earlier transactions the items read (refunded ones, listed orders).
    pub references: Vec<String>,
    /// Whether customers' profiles are read (only upserts merge into them).
    pub profiles: bool,
}

impl Needs {
    pub fn of(items: &ChunkItems) -> Needs {
        Needs {
            customers: items.customer_ids(),
            transaction_ids: items.transaction_ids(),
            references: items.reference_ids(),
            profiles: items.reads_profiles(),
        }
    }

    /// The customer ids to load, in key order (an index is then walked forwards).
    pub fn customer_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.customers.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys
    }

    /// The customers that do not exist and may be created: each needs a fresh id.
    pub fn missing<'a>(&'a self, loaded: &[CustomerRecord]) -> Vec<&'a CustomerId> {
        let existing: rustc_hash::FxHashSet<&CustomerId> =
            loaded.iter().map(|r| &r.customer_id).collect();
        self.customers
            .iter()
            .filter(|(k, creates)| *creates && !existing.contains(k))
            .map(|(k, _)| k)
            .collect()
    }

    /// How many fresh customer ids and movement ids the chunk needs, once
    /// `loaded` holds its customers and settings.
    pub fn allocations(&self, loaded: &Loaded, items: &ChunkItems) -> (usize, usize) {
        (
            self.missing(&loaded.customers).len(),
            items.movements_needed(&loaded.settings),
        )
    }

    /// Runs the domain's rules over what the backend loaded and allocated (in
    /// the amounts [`Needs::allocations`] said).
    pub fn apply(
        &self,
        loaded: Loaded,
        fresh_ids: Vec<i64>,
        movement_ids: Vec<i64>,
        items: ChunkItems,
    ) -> domain::ChunkEffects {
        domain::chunk::apply(self.state(loaded, fresh_ids, movement_ids), items)
    }

    /// The domain's state from what the backend loaded and allocated: `fresh_ids`
    /// pair with [`Needs::missing`] in order, `movement_ids` ascend.
    pub fn state(
        &self,
        loaded: Loaded,
        fresh_ids: Vec<i64>,
        mut movement_ids: Vec<i64>,
    ) -> ChunkState {
        let fresh_ids = self
            .missing(&loaded.customers)
            .into_iter()
            .cloned()
            .zip(fresh_ids)
            .collect();
        // The domain takes ids from the end.
        movement_ids.reverse();
        ChunkState {
            customers: loaded
                .customers
                .into_iter()
                .map(|r| (r.customer_id.clone(), r))
                .collect(),
            fresh_ids,
            settings: loaded.settings,
            used_transaction_ids: loaded.used_transaction_ids.into_iter().collect(),
            movement_ids,
            recorded: loaded.recorded,
            now: to_millis(loaded.now),
            job_id: loaded.job,
        }
    }
}

/// What a backend loaded for a chunk.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: ProgramSettings,
    pub customers: Vec<CustomerRecord>,
    pub used_transaction_ids: Vec<String>,
    pub recorded: Vec<MovementRow>,
    pub now: OffsetDateTime,
    /// The job the chunk belongs to; `None` for a single call.
    pub job: Option<JobId>,
}

impl Loaded {
    /// Nothing loaded yet but the tenant's settings; the backend fills the rest.
    pub fn new(settings: ProgramSettings, now: OffsetDateTime, job: Option<JobId>) -> Loaded {
        Loaded {
            settings,
            customers: Vec::new(),
            used_transaction_ids: Vec::new(),
            recorded: Vec::new(),
            now,
            job,
        }
    }
}

/// What a committed chunk writes to its job: a results row, the counts and the
/// cursor, and the final state when the chunk was the job's last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    pub job_id: JobId,
    /// The chunk's first item (the results row's key).
    pub from: u32,
    pub results: RenderedOutcomes,
    pub cursor: u32,
    pub finished_count: u32,
    pub error_count: u32,
    /// The commit extends the lease to this instant (milliseconds) while the job runs.
    pub lease_until: i64,
    pub finish: Option<Finish>,
    /// The chunk's failed items by code.
    pub failures: Vec<(ErrorCode, u32)>,
    /// When the chunk committed (milliseconds; the console's throughput chart).
    pub committed_at: i64,
}

/// How a job ends: its state, when, and until when it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish {
    pub state: JobState,
    pub finished_at: i64,
    pub expires_at: i64,
}

impl Advance {
    /// The job after `outcomes` (a chunk starting at `work.from`) on top of `job`.
    pub fn after(
        job: &JobProgress,
        fence: Fence,
        work: &ChunkWork,
        outcomes: &[Outcome],
    ) -> Advance {
        let results = render(outcomes);
        let cursor = work.from.saturating_add(outcomes.len() as u32);
        let finished_count = job.finished_count.saturating_add(results.succeeded);
        let error_count = job.error_count.saturating_add(results.errored);
        let finish = (cursor >= job.item_count).then(|| Finish {
            state: final_state(finished_count),
            finished_at: to_millis(work.now),
            expires_at: to_millis(add(work.now, work.retention)),
        });
        Advance {
            job_id: fence.job_id,
            from: work.from,
            results,
            cursor,
            finished_count,
            error_count,
            lease_until: to_millis(work.lease_until),
            finish,
            failures: failures_by_code(outcomes),
            committed_at: to_millis(work.now),
        }
    }

    /// Items the chunk processed.
    pub fn items(&self) -> u32 {
        self.cursor.saturating_sub(self.from)
    }

    pub fn committed(&self) -> ChunkCommitted {
        ChunkCommitted {
            cursor: self.cursor,
            finished: self.finish.map(|f| f.state),
            failures: self.failures.clone(),
        }
    }
}

/// How many of `outcomes` failed with each code, codes in ascending order.
fn failures_by_code(outcomes: &[Outcome]) -> Vec<(ErrorCode, u32)> {
    let mut counts: std::collections::BTreeMap<u32, (ErrorCode, u32)> = Default::default();
    for failure in outcomes.iter().filter_map(|o| o.result.as_ref().err()) {
        let entry = counts
            .entry(failure.code.code())
            .or_insert((failure.code, 0));
        entry.1 = entry.1.saturating_add(1);
    }
    counts.into_values().collect()
}

/// Which movement carries which ledger: each customer's ledger after the chunk goes
/// on its highest-id movement of the chunk, so the latest movement holds the
/// current ledger. Ids grow in commit order for each customer: SQLite's one
/// writer allocates them, and on PostgreSQL a chunk allocates its ids while it
/// holds its customers' locks, so a later chunk of the same customer gets higher ids.
/// A customer whose ledger changed without a movement changed only by lazy
/// settling (expiry), which every later read redoes, so nothing is lost.
pub fn ledgers_on_movements(effects: &ChunkEffects) -> Result<FxHashMap<i64, &Ledger>, StoreError> {
    let mut last: FxHashMap<i64, i64> = FxHashMap::default();
    for m in &effects.movements {
        let id = last.entry(m.gameball_id).or_insert(m.id);
        *id = (*id).max(m.id);
    }
    let mut out = FxHashMap::default();
    for w in &effects.customer_writes {
        if let Some(id) = last.remove(&w.record.gameball_id) {
            out.insert(id, &w.record.ledger);
        }
    }
    if let Some(gameball_id) = last.keys().next() {
        return Err(StoreError::Conflict(format!(
            "a movement of customer {gameball_id}, whom the chunk did not write"
        )));
    }
    Ok(out)
}

/// The outcome of a single call: its chunk has exactly one item.
pub fn single_outcome(mut outcomes: Vec<Outcome>) -> Result<Outcome, StoreError> {
    match (outcomes.pop(), outcomes.is_empty()) {
        (Some(o), true) => Ok(o),
        _ => Err(StoreError::Conflict(
            "a single call needs exactly one item".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::record_from;
    use serde_json::json;
    use std::time::Duration;
    use wire::BatchType;

    fn progress(cursor: u32, item_count: u32) -> JobProgress {
        JobProgress {
            status: "running".into(),
            token: 7,
            cursor,
            item_count,
            finished_count: 3,
            error_count: 1,
        }
    }

    const FENCE: Fence = Fence {
        job_id: 9,
        token: 7,
    };

    #[test]
    fn the_fence_holds_only_for_the_running_claim_at_its_cursor() {
        let ok = progress(10, 20);
        assert!(check_fence(Some(&ok), FENCE, 10).is_ok());
        for (job, from) in [
            (
                JobProgress {
                    status: "stopped".into(),
                    ..ok.clone()
                },
                10,
            ),
            (
                JobProgress {
                    token: 8,
                    ..ok.clone()
                },
                10,
            ),
            (ok.clone(), 11),
        ] {
            assert!(matches!(
                check_fence(Some(&job), FENCE, from),
                Err(StoreError::Fenced)
            ));
        }
        assert!(matches!(
            check_fence(None, FENCE, 10),
            Err(StoreError::Fenced)
        ));
    }

    fn items(body: serde_json::Value) -> ChunkItems {
        let texts: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        ChunkItems::parse(
            BatchType::Cashback,
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| (i as u32, t.as_str())),
        )
    }

    fn work(from: u32, items: ChunkItems) -> ChunkWork {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        ChunkWork {
            tenant_id: 1,
            from,
            items,
            now,
            retention: Duration::from_secs(60),
            lease_until: add(now, Duration::from_secs(30)),
        }
    }

    #[test]
    fn a_commit_advances_counts_and_cursor_and_the_last_one_finishes_the_job() {
        let t = "2020-01-01T00:00:00Z";
        let chunk = items(json!([
            {"customerId": "a", "transactionId": "t1", "transactionTime": t, "amount": 5},
            {"customerId": "a"}
        ]));
        let outcomes: Vec<Outcome> = match &chunk {
            ChunkItems::Ledger(v) => v
                .iter()
                .map(|p| match &p.item {
                    Ok(_) => Outcome::succeeded(
                        p.index,
                        domain::Success::Released {
                            success: true,
                            message: "x",
                        },
                    ),
                    Err(r) => Outcome::rejected(p.index, r.clone()),
                })
                .collect(),
            _ => unreachable!(),
        };
        let w = work(10, chunk);
        let mid = Advance::after(&progress(10, 20), FENCE, &w, &outcomes);
        assert_eq!(
            (mid.cursor, mid.finished_count, mid.error_count),
            (12, 4, 2)
        );
        assert_eq!(mid.finish, None);
        assert_eq!(
            mid.committed(),
            ChunkCommitted {
                cursor: 12,
                finished: None,
                failures: vec![(ErrorCode::MissingField, 1)],
            }
        );
        assert_eq!(mid.lease_until, to_millis(w.lease_until));
        let last = Advance::after(&progress(10, 12), FENCE, &w, &outcomes);
        let finish = last.finish.unwrap();
        assert_eq!(finish.state, JobState::Completed);
        assert_eq!(finish.expires_at - finish.finished_at, 60_000);
        let none_succeeded = JobProgress {
            finished_count: 0,
            ..progress(11, 12)
        };
        let failed = Advance::after(
            &none_succeeded,
            FENCE,
            &work(11, items(json!([{}]))),
            &outcomes[1..],
        );
        assert_eq!(failed.finish.unwrap().state, JobState::Failed);
    }

    #[test]
    fn needs_and_state_pair_fresh_ids_with_the_missing_creatable_customers() {
        let t = "2020-01-01T00:00:00Z";
        let chunk = items(json!([
            {"customerId": "b", "transactionId": "t1", "transactionTime": t, "amount": 5},
            {"customerId": "a", "transactionId": "t2", "transactionTime": t, "amount": 5},
            {"customerId": "c", "transactionId": "t2", "transactionTime": t, "amount": 5}
        ]));
        let needs = Needs::of(&chunk);
        assert_eq!(needs.customer_keys(), ["a", "b", "c"]);
        assert_eq!(needs.transaction_ids, ["t1", "t2"]);
        assert!(!needs.profiles);
        let existing = record_from(5, "a", "{}", "{}").unwrap();
        let missing: Vec<&str> = needs
            .missing(std::slice::from_ref(&existing))
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(missing, ["b", "c"], "in order of first appearance");
        let loaded = Loaded {
            settings: ProgramSettings::default(),
            customers: vec![existing],
            used_transaction_ids: vec!["t2".into()],
            recorded: Vec::new(),
            now: OffsetDateTime::UNIX_EPOCH,
            job: Some(9),
        };
        let state = needs.state(loaded, vec![100, 101], vec![1, 2, 3]);
        assert_eq!(state.fresh_ids[&CustomerId::parse("b").unwrap()], 100);
        assert_eq!(state.fresh_ids[&CustomerId::parse("c").unwrap()], 101);
        assert_eq!(
            state.movement_ids,
            [3, 2, 1],
            "taken from the end: lowest first"
        );
        assert!(state.used_transaction_ids.contains("t2"));
        assert_eq!(state.customers.len(), 1);
    }
}
