//! Chunk transactions: load the state a chunk needs in bulk, run the pure domain rules, write effects, results and cursor.

use crate::sql_err;
use domain::{ChunkEffects, ChunkItems, CustomerWrite, Outcome};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use std::rc::Rc;
use store::chunk::*;
use store::rows::{CURRENT_LEDGER, MOVEMENT_COLUMNS, MovementColumns, record_from};
use store::*;
use time::OffsetDateTime;

/// Returns the chunk's effects too, so the caller frees them outside the writer lock.
pub fn apply_chunk(
    c: &Connection,
    fence: Fence,
    mut work: ChunkWork,
) -> Result<(ChunkCommitted, ChunkEffects), StoreError> {
    let job: Option<JobProgress> = c
        .prepare_cached(
            "SELECT status, lease_token, cursor, item_count, finished_count, error_count FROM jobs WHERE id = ?1",
        )
        .map_err(sql_err)?
        .query_row([fence.job_id], |r| {
            Ok(JobProgress {
                status: r.get(0)?,
                token: r.get(1)?,
                cursor: r.get(2)?,
                item_count: r.get(3)?,
                finished_count: r.get(4)?,
                error_count: r.get(5)?,
            })
        })
        .optional()
        .map_err(sql_err)?;
    let job = check_fence(job.as_ref(), fence, work.from)?;
    let items = work.take_items();
    let effects = load_and_apply(c, work.tenant_id, items, work.now, Some(fence.job_id))?;
    write_effects(c, work.tenant_id, &effects, Some(fence.job_id), work.now)?;
    let advance = Advance::after(job, fence, &work, &effects.outcomes);
    write_advance(c, &advance)?;
    Ok((advance.committed(), effects))
}

/// The job's results row, counts and cursor, and its end when the chunk was its last.
fn write_advance(c: &Connection, a: &Advance) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO job_results (job_id, first_index, successful, failed, items, committed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(sql_err)?
    .execute(params![
        a.job_id,
        a.from,
        a.results.successful,
        a.results.failed,
        a.items(),
        a.committed_at
    ])
    .map_err(sql_err)?;
    match store::ending::JobEnd::of_last_chunk(a) {
        None => {
            c.prepare_cached(
                "UPDATE jobs SET cursor = ?2, finished_count = ?3, error_count = ?4, lease_expires_at = ?5 \
                 WHERE id = ?1",
            )
            .map_err(sql_err)?
            .execute(params![a.job_id, a.cursor, a.finished_count, a.error_count, a.lease_until])
            .map_err(sql_err)?;
        }
        Some(end) => {
            crate::jobs::end(c, &end)?;
        }
    }
    Ok(())
}

pub fn apply_single(
    c: &Connection,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
) -> Result<Outcome, StoreError> {
    let effects = load_and_apply(c, tenant, items, now, None)?;
    write_effects(c, tenant, &effects, None, now)?;
    single_outcome(effects.outcomes)
}

/// Single calls applied together ([`store::singles`]), in the writer's
/// transaction: the calls of each tenant and kind as one chunk.
pub fn apply_group(
    c: &Connection,
    calls: Vec<store::singles::SingleCall>,
) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
    let n = calls.len();
    let mut applied = Vec::new();
    for mut m in store::singles::merge(calls) {
        let items = std::mem::replace(&mut m.items, ChunkItems::Ledger(Vec::new()));
        let mut effects = load_and_apply(c, m.tenant, items, m.now, None)?;
        m.restore_indexes(&mut effects);
        write_effects(c, m.tenant, &effects, None, m.now)?;
        applied.push((m, effects.outcomes));
    }
    Ok(store::singles::per_call(n, applied))
}

/// Loads what the chunk needs in a few statements — the tenant's settings, the
/// customers it names (one query), which of its transaction ids are taken (one
/// query), the movements it refers to — allocates ids for new customers and
/// movements, and runs the domain rules.
fn load_and_apply(
    tx: &Connection,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
    job: Option<JobId>,
) -> Result<ChunkEffects, StoreError> {
    let needs = Needs::of(&items);
    let settings = crate::tenants::settings(tx, tenant)?;
    let mut loaded = Loaded::new(settings, now, job);
    loaded.customers.reserve(needs.customers.len());
    if !needs.customers.is_empty() {
        let keys = texts(needs.customer_keys().into_iter().map(str::to_owned));
        let mut st = tx
            .prepare_cached(
                &format!(
                    "SELECT c.gameball_id, c.customer_id, CASE WHEN ?3 THEN c.profile ELSE '{{}}' END, \
                     {CURRENT_LEDGER} FROM customers c WHERE c.tenant_id = ?1 AND c.customer_id IN rarray(?2)"
                ),
            )
            .map_err(sql_err)?;
        let mut rows = st
            .query(params![tenant, keys, needs.profiles])
            .map_err(sql_err)?;
        while let Some(r) = rows.next().map_err(sql_err)? {
            let text = |i| -> Result<&str, StoreError> {
                r.get_ref(i)
                    .map_err(sql_err)?
                    .as_str()
                    .map_err(|e| sql_err(e.into()))
            };
            loaded.customers.push(record_from(
                r.get(0).map_err(sql_err)?,
                text(1)?,
                text(2)?,
                text(3)?,
            )?);
        }
    }
    if !needs.transaction_ids.is_empty() {
        let mut st = tx
            .prepare_cached(
                "SELECT transaction_id FROM movements \
                 WHERE tenant_id = ?1 AND transaction_id IN rarray(?2)",
            )
            .map_err(sql_err)?;
        let used = st
            .query_map(
                params![tenant, texts(needs.transaction_ids.iter().cloned())],
                |r| r.get::<_, String>(0),
            )
            .map_err(sql_err)?;
        for id in used {
            loaded.used_transaction_ids.push(id.map_err(sql_err)?);
        }
    }
    if !needs.references.is_empty() {
        let mut st = tx
            .prepare_cached(&format!(
                "SELECT {MOVEMENT_COLUMNS} FROM movements m WHERE m.tenant_id = ?1 AND \
                 (m.transaction_id IN rarray(?2) OR m.order_id IN rarray(?2) OR m.reverses IN rarray(?2)) \
                 ORDER BY m.id"
            ))
            .map_err(sql_err)?;
        let rows = st
            .query_map(
                params![tenant, texts(needs.references.iter().cloned())],
                movement_from,
            )
            .map_err(sql_err)?;
        loaded.recorded = collect_rows(rows)?;
    }
    let (customers, movements) = needs.allocations(&loaded, &items);
    let fresh = allocate(tx, "gameball_id", customers)?;
    let movement_ids = allocate(tx, "movement_id", movements)?;
    Ok(needs.apply(loaded, fresh, movement_ids, items))
}

/// Texts as an `rarray` parameter.
fn texts(values: impl Iterator<Item = String>) -> Rc<Vec<SqlValue>> {
    Rc::new(values.map(SqlValue::Text).collect())
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
            record: record_from(gid, &cid, &profile, &ledger)?,
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

/// A movement row; the inner error is a stored row that does not parse.
fn movement_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<MovementRow, StoreError>> {
    let (kind, amount, entry): (String, Option<String>, String) = (r.get(1)?, r.get(5)?, r.get(8)?);
    Ok(MovementColumns {
        id: r.get(0)?,
        kind: &kind,
        transaction_id: r.get(2)?,
        hold_reference: r.get(3)?,
        points: r.get(4)?,
        amount: amount.as_deref(),
        transaction_time: r.get(6)?,
        created_at: r.get(7)?,
        entry: &entry,
        gameball_id: r.get(9)?,
        order_id: r.get(10)?,
        reverses: r.get(11)?,
        item_index: r.get(12)?,
    }
    .parse())
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
