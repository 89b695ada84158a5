//! Chunk transactions: load the state a chunk needs in bulk, run the pure domain rules, write effects, results and cursor.

use crate::sql_err;
use domain::chunk::{self, ChunkState};
use domain::customers::Profile;
use domain::ledger::Ledger;
use domain::outcome::render;
use domain::posting::{Movement, MovementKind};
use domain::{ChunkEffects, ChunkItems, CustomerId, CustomerRecord, CustomerWrite, Outcome};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use std::rc::Rc;
use store::*;
use time::OffsetDateTime;
use wire::JobState;

/// Returns the chunk's effects too, so the caller frees them outside the writer lock.
pub fn apply_chunk(
    c: &Connection,
    fence: Fence,
    work: ChunkWork,
) -> Result<(ChunkCommitted, ChunkEffects), StoreError> {
    let job: Option<(String, i64, u32, u32, u32, u32)> = c
        .prepare_cached(
            "SELECT status, lease_token, cursor, item_count, finished_count, error_count FROM jobs WHERE id = ?1",
        )
        .map_err(sql_err)?
        .query_row([fence.job_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()
        .map_err(sql_err)?;
    let Some((status, token, cursor, item_count, finished, errored)) = job else {
        return Err(StoreError::Fenced);
    };
    // The fence: a stop, a takeover or a concurrent commit makes this chunk void.
    if status != "running" || token != fence.token || cursor != work.from {
        return Err(StoreError::Fenced);
    }
    let effects = load_and_apply(c, work.tenant_id, work.items, work.now, Some(fence.job_id))?;
    write_effects(c, work.tenant_id, &effects, Some(fence.job_id), work.now)?;

    let rendered = render(&effects.outcomes);
    c.prepare_cached(
        "INSERT INTO job_results (job_id, first_index, successful, failed) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(sql_err)?
    .execute(params![
        fence.job_id,
        work.from,
        rendered.successful,
        rendered.failed
    ])
    .map_err(sql_err)?;

    let new_cursor = work.from + effects.outcomes.len() as u32;
    let finished = finished + rendered.succeeded;
    let errored = errored + rendered.errored;
    let now = to_millis(work.now);
    let final_state = (new_cursor >= item_count).then(|| final_state(finished));
    match final_state {
        None => {
            c.prepare_cached(
                "UPDATE jobs SET cursor = ?2, finished_count = ?3, error_count = ?4, lease_expires_at = ?5 \
                 WHERE id = ?1",
            )
            .map_err(sql_err)?
            .execute(params![fence.job_id, new_cursor, finished, errored, to_millis(work.lease_until)])
            .map_err(sql_err)?;
        }
        Some(state) => {
            c.prepare_cached(
                "UPDATE jobs SET cursor = ?2, finished_count = ?3, error_count = ?4, status = ?5, \
                 finished_at = ?6, expires_at = ?7, lease_expires_at = NULL WHERE id = ?1",
            )
            .map_err(sql_err)?
            .execute(params![
                fence.job_id,
                new_cursor,
                finished,
                errored,
                state.as_str(),
                now,
                to_millis(add(work.now, work.retention))
            ])
            .map_err(sql_err)?;
            c.prepare_cached("DELETE FROM job_items WHERE job_id = ?1")
                .map_err(sql_err)?
                .execute([fence.job_id])
                .map_err(sql_err)?;
        }
    }
    let committed = ChunkCommitted {
        cursor: new_cursor,
        finished: final_state.filter(|s: &JobState| s.is_final()),
    };
    Ok((committed, effects))
}

pub fn apply_single(
    c: &Connection,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
) -> Result<Outcome, StoreError> {
    let mut effects = load_and_apply(c, tenant, items, now, None)?;
    write_effects(c, tenant, &effects, None, now)?;
    effects
        .outcomes
        .pop()
        .ok_or_else(|| StoreError::Conflict("a single call needs exactly one item".into()))
}

/// Loads what the chunk needs in a few statements — the tenant's settings, the
/// customers it names (one query), which of its transaction ids are taken (one
/// query) — allocates ids for new customers and movements, and runs the domain rules.
fn load_and_apply(
    tx: &Connection,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
    job: Option<JobId>,
) -> Result<ChunkEffects, StoreError> {
    let mut state = ChunkState {
        settings: crate::tenants::settings(tx, tenant)?,
        now: to_millis(now),
        job_id: job,
        ..ChunkState::default()
    };
    let keys = items.customer_ids();
    if !keys.is_empty() {
        // In key order: the index is walked forwards instead of jumping about.
        let mut sorted: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        sorted.sort_unstable();
        let key_values: Rc<Vec<SqlValue>> = Rc::new(
            sorted
                .into_iter()
                .map(|k| SqlValue::Text(k.to_owned()))
                .collect(),
        );
        let mut st = tx
            .prepare_cached(
                &format!(
                    "SELECT c.gameball_id, c.customer_id, CASE WHEN ?3 THEN c.profile ELSE '{{}}' END, \
                     {CURRENT_LEDGER} FROM customers c WHERE c.tenant_id = ?1 AND c.customer_id IN rarray(?2)"
                ),
            )
            .map_err(sql_err)?;
        let mut rows = st
            .query(params![tenant, key_values, items.reads_profiles()])
            .map_err(sql_err)?;
        while let Some(r) = rows.next().map_err(sql_err)? {
            let text = |i| -> Result<&str, StoreError> {
                r.get_ref(i)
                    .map_err(sql_err)?
                    .as_str()
                    .map_err(|e| sql_err(e.into()))
            };
            let record = record_from(
                r.get(0).map_err(sql_err)?,
                r.get(1).map_err(sql_err)?,
                text(2)?,
                text(3)?,
            )?;
            state.customers.insert(record.customer_id.clone(), record);
        }
        let missing: Vec<&CustomerId> = keys
            .iter()
            .filter(|(k, creates)| *creates && !state.customers.contains_key(k))
            .map(|(k, _)| k)
            .collect();
        for (key, id) in missing
            .iter()
            .zip(allocate(tx, "gameball_id", missing.len())?)
        {
            state.fresh_ids.insert((*key).clone(), id);
        }
    }
    let transaction_ids = items.transaction_ids();
    if !transaction_ids.is_empty() {
        let values: Rc<Vec<SqlValue>> =
            Rc::new(transaction_ids.into_iter().map(SqlValue::Text).collect());
        let mut st = tx
            .prepare_cached(
                "SELECT transaction_id FROM movements \
                 WHERE tenant_id = ?1 AND transaction_id IN rarray(?2)",
            )
            .map_err(sql_err)?;
        let used = st
            .query_map(params![tenant, values], |r| r.get::<_, String>(0))
            .map_err(sql_err)?;
        for id in used {
            state.used_transaction_ids.insert(id.map_err(sql_err)?);
        }
    }
    let references = items.reference_ids();
    if !references.is_empty() {
        let values: Rc<Vec<SqlValue>> =
            Rc::new(references.into_iter().map(SqlValue::Text).collect());
        let mut st = tx
            .prepare_cached(&format!(
                "SELECT {MOVEMENT_COLUMNS} FROM movements m WHERE m.tenant_id = ?1 AND \
                 (m.transaction_id IN rarray(?2) OR m.order_id IN rarray(?2) OR m.reverses IN rarray(?2)) \
                 ORDER BY m.id"
            ))
            .map_err(sql_err)?;
        let rows = st
            .query_map(params![tenant, values], movement_from)
            .map_err(sql_err)?;
        state.recorded = collect_rows(rows)?;
    }
    let mut ids = allocate(tx, "movement_id", items.movements_needed(&state.settings))?;
    ids.reverse();
    state.movement_ids = ids;
    Ok(chunk::apply(state, items))
}

/// `n` fresh values of a counter, ascending (one statement).
fn allocate(tx: &Connection, counter: &str, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let last: i64 = tx
        .prepare_cached("UPDATE counters SET value = value + ?1 WHERE name = ?2 RETURNING value")
        .map_err(sql_err)?
        .query_row(params![n as i64, counter], |r| r.get(0))
        .map_err(sql_err)?;
    Ok((last - n as i64 + 1..=last).collect())
}

/// A customer's current ledger (`c` is its row): the one on its latest movement,
/// or the row's own when it has none (or only movements from before migration V4).
const CURRENT_LEDGER: &str = "coalesce((SELECT m.ledger FROM movements m \
     WHERE m.gameball_id = c.gameball_id ORDER BY m.id DESC LIMIT 1), c.ledger)";

fn record_from(
    gameball_id: i64,
    customer_id: String,
    profile: &str,
    ledger: &str,
) -> Result<CustomerRecord, StoreError> {
    Ok(CustomerRecord {
        gameball_id,
        customer_id: CustomerId::parse(&customer_id)
            .map_err(|f| StoreError::Conflict(f.message))?,
        profile: serde_json::from_str::<Profile>(profile).map_err(StoreError::other)?,
        ledger: if ledger == "{}" {
            Ledger::default()
        } else {
            serde_json::from_str::<Ledger>(ledger).map_err(StoreError::other)?
        },
    })
}

fn write_effects(
    tx: &Connection,
    tenant: TenantId,
    effects: &ChunkEffects,
    job: Option<JobId>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let now = to_millis(now);
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO customers (gameball_id, tenant_id, customer_id, profile, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )
        .map_err(sql_err)?;
    let mut update = tx
        .prepare_cached("UPDATE customers SET profile = ?2, updated_at = ?3 WHERE gameball_id = ?1")
        .map_err(sql_err)?;
    // In row order: each page of the table is visited once, front to back.
    // Ledgers are not written here: they ride on the movements below.
    let mut writes: Vec<&CustomerWrite> = effects.customer_writes.iter().collect();
    writes.sort_unstable_by_key(|w| w.record.gameball_id);
    for w in writes {
        if !(w.is_new || w.profile_changed) {
            continue;
        }
        let profile = serde_json::to_string(&w.record.profile).map_err(StoreError::other)?;
        if w.is_new {
            insert
                .execute(params![
                    w.record.gameball_id,
                    tenant,
                    w.record.customer_id.as_str(),
                    profile,
                    now
                ])
                .map_err(sql_err)?;
        } else {
            update
                .execute(params![w.record.gameball_id, profile, now])
                .map_err(sql_err)?;
        }
    }
    if !effects.movements.is_empty() {
        let ledgers = ledgers_on_movements(effects)?;
        let mut insert_movement = tx
            .prepare_cached(
                "INSERT INTO movements (id, tenant_id, gameball_id, kind, transaction_id, hold_reference, \
                 points, amount, transaction_time, entry, created_at, job_id, item_index, order_id, reverses, \
                 ledger) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .map_err(sql_err)?;
        for m in &effects.movements {
            let ledger = ledgers
                .get(&m.id)
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::other)?;
            insert_movement
                .execute(params![
                    m.id,
                    tenant,
                    m.gameball_id,
                    m.kind.as_str(),
                    m.transaction_id,
                    m.hold_reference,
                    m.points,
                    m.amount.map(|a| a.to_string()),
                    m.transaction_time,
                    serde_json::to_string(&m.entry).map_err(StoreError::other)?,
                    now,
                    job,
                    m.item_index,
                    m.order_id,
                    m.reverses,
                    ledger
                ])
                .map_err(sql_err)?;
        }
    }
    if !effects.events.is_empty() {
        let mut insert_event = tx
            .prepare_cached(
                "INSERT INTO events (tenant_id, gameball_id, name, metadata, created_at, job_id, item_index) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(sql_err)?;
        for e in &effects.events {
            insert_event
                .execute(params![
                    tenant,
                    e.gameball_id,
                    e.name,
                    e.metadata,
                    now,
                    job,
                    e.item_index
                ])
                .map_err(sql_err)?;
        }
    }
    Ok(())
}

/// Which movement carries which ledger: each customer's ledger after the chunk goes
/// on its highest-id movement of the chunk, so the latest movement holds the
/// current ledger (ids grow in commit order: one writer allocates them).
/// A customer whose ledger changed without a movement changed only by lazy
/// settling (expiry), which every later read redoes, so nothing is lost.
fn ledgers_on_movements(effects: &ChunkEffects) -> Result<FxHashMap<i64, &Ledger>, StoreError> {
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

pub fn customer(
    c: &Connection,
    tenant: TenantId,
    customer_id: &str,
) -> Result<Option<CustomerView>, StoreError> {
    let row: Option<(i64, String, String, String, i64, i64)> = c
        .prepare_cached(&format!(
            "SELECT c.gameball_id, c.customer_id, c.profile, {CURRENT_LEDGER}, c.created_at, \
                 c.updated_at FROM customers c WHERE c.tenant_id = ?1 AND c.customer_id = ?2"
        ))
        .map_err(sql_err)?
        .query_row(params![tenant, customer_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()
        .map_err(sql_err)?;
    row.map(|(gid, cid, profile, ledger, created, updated)| {
        Ok(CustomerView {
            record: record_from(gid, cid, &profile, &ledger)?,
            created_at: from_millis(created),
            updated_at: from_millis(updated),
        })
    })
    .transpose()
}

pub fn delete_customer(
    c: &Connection,
    tenant: TenantId,
    customer_id: &str,
) -> Result<bool, StoreError> {
    let gid: Option<i64> = c
        .query_row(
            "SELECT gameball_id FROM customers WHERE tenant_id = ?1 AND customer_id = ?2",
            params![tenant, customer_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let Some(gid) = gid else {
        return Ok(false);
    };
    c.execute("DELETE FROM events WHERE gameball_id = ?1", [gid])
        .map_err(sql_err)?;
    c.execute("DELETE FROM movements WHERE gameball_id = ?1", [gid])
        .map_err(sql_err)?;
    c.execute("DELETE FROM customers WHERE gameball_id = ?1", [gid])
        .map_err(sql_err)?;
    Ok(true)
}

const MOVEMENT_COLUMNS: &str = "m.id, m.kind, m.transaction_id, m.hold_reference, m.points, m.amount, \
     m.transaction_time, m.created_at, m.entry, m.gameball_id, m.order_id, m.reverses, m.item_index";

/// A movement row; the inner error is a stored entry that does not parse.
fn movement_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<MovementRow, StoreError>> {
    let entry: String = r.get(8)?;
    let entry = match serde_json::from_str(&entry) {
        Ok(e) => e,
        Err(e) => return Ok(Err(StoreError::other(e))),
    };
    let amount: Option<String> = r.get(5)?;
    let amount = match amount
        .map(|a| a.parse::<rust_decimal::Decimal>())
        .transpose()
    {
        Ok(a) => a,
        Err(e) => return Ok(Err(StoreError::other(e))),
    };
    let kind: String = r.get(1)?;
    let Some(kind) = MovementKind::parse(&kind) else {
        return Ok(Err(StoreError::Conflict(format!(
            "unknown movement kind {kind:?}"
        ))));
    };
    Ok(Ok(MovementRow {
        movement: Movement {
            id: r.get(0)?,
            gameball_id: r.get(9)?,
            kind,
            transaction_id: r.get(2)?,
            hold_reference: r.get(3)?,
            order_id: r.get(10)?,
            reverses: r.get(11)?,
            points: r.get(4)?,
            amount,
            transaction_time: r.get(6)?,
            entry,
            item_index: r.get(12)?,
        },
        created_at: r.get(7)?,
    }))
}

fn collect_rows(
    rows: impl Iterator<Item = rusqlite::Result<Result<MovementRow, StoreError>>>,
) -> Result<Vec<MovementRow>, StoreError> {
    rows.map(|r| r.map_err(sql_err)?).collect()
}

pub fn movements(
    c: &Connection,
    tenant: TenantId,
    customer_id: &str,
) -> Result<Vec<MovementRow>, StoreError> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {MOVEMENT_COLUMNS} FROM movements m JOIN customers c ON c.gameball_id = m.gameball_id \
             WHERE c.tenant_id = ?1 AND c.customer_id = ?2 ORDER BY m.id"
        ))
        .map_err(sql_err)?;
    let rows = st
        .query_map(params![tenant, customer_id], movement_from)
        .map_err(sql_err)?;
    collect_rows(rows)
}

pub fn hold(
    c: &Connection,
    tenant: TenantId,
    reference: &str,
    now: OffsetDateTime,
) -> Result<Option<HoldRecord>, StoreError> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {MOVEMENT_COLUMNS}, c.customer_id FROM movements m \
             JOIN customers c ON c.gameball_id = m.gameball_id \
             WHERE m.tenant_id = ?1 AND m.hold_reference = ?2 ORDER BY m.id"
        ))
        .map_err(sql_err)?;
    let mut owner = None;
    let rows = st
        .query_map(params![tenant, reference], |r| {
            owner = Some(r.get::<_, String>(13)?);
            movement_from(r)
        })
        .map_err(sql_err)?;
    let rows = collect_rows(rows)?;
    Ok(owner.and_then(|o| hold_record(o, &rows, to_millis(now))))
}
