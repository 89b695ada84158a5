//! Chunk transactions: load the state a chunk needs in bulk, run the pure domain rules, write effects, results and cursor.

use crate::sql_err;
use domain::chunk::{self, ChunkState};
use domain::customers::Profile;
use domain::outcome::render;
use domain::{ChunkEffects, ChunkItems, CustomerId, CustomerRecord, Outcome};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
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
    let effects = load_and_apply(c, work.tenant_id, work.items)?;
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
    let mut effects = load_and_apply(c, tenant, items)?;
    write_effects(c, tenant, &effects, None, now)?;
    effects
        .outcomes
        .pop()
        .ok_or_else(|| StoreError::Conflict("a single call needs exactly one item".into()))
}

/// Loads the customers the chunk names (one query), allocates ids for the missing
/// ones (one statement), and runs the domain rules.
fn load_and_apply(
    tx: &Connection,
    tenant: TenantId,
    items: ChunkItems,
) -> Result<ChunkEffects, StoreError> {
    let keys = items.customer_ids();
    let mut state = ChunkState::default();
    if !keys.is_empty() {
        let key_values: Rc<Vec<SqlValue>> = Rc::new(
            keys.iter()
                .map(|k| SqlValue::Text(k.as_str().to_owned()))
                .collect(),
        );
        let mut st = tx
            .prepare_cached(
                "SELECT gameball_id, customer_id, profile FROM customers \
                 WHERE tenant_id = ?1 AND customer_id IN rarray(?2)",
            )
            .map_err(sql_err)?;
        let mut rows = st.query(params![tenant, key_values]).map_err(sql_err)?;
        while let Some(r) = rows.next().map_err(sql_err)? {
            let record = record_from(
                r.get(0).map_err(sql_err)?,
                r.get(1).map_err(sql_err)?,
                r.get_ref(2)
                    .map_err(sql_err)?
                    .as_str()
                    .map_err(|e| sql_err(e.into()))?,
            )?;
            state.customers.insert(record.customer_id.clone(), record);
        }
        let missing: Vec<&CustomerId> = keys
            .iter()
            .filter(|k| !state.customers.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            let last: i64 = tx
                .prepare_cached(
                    "UPDATE counters SET value = value + ?1 WHERE name = 'gameball_id' RETURNING value",
                )
                .map_err(sql_err)?
                .query_row([missing.len() as i64], |r| r.get(0))
                .map_err(sql_err)?;
            let first = last - missing.len() as i64 + 1;
            for (offset, key) in missing.into_iter().enumerate() {
                state.fresh_ids.insert(key.clone(), first + offset as i64);
            }
        }
    }
    Ok(chunk::apply(state, items))
}

fn record_from(
    gameball_id: i64,
    customer_id: String,
    profile: &str,
) -> Result<CustomerRecord, StoreError> {
    Ok(CustomerRecord {
        gameball_id,
        customer_id: CustomerId::parse(&customer_id)
            .map_err(|f| StoreError::Conflict(f.message))?,
        profile: serde_json::from_str::<Profile>(profile).map_err(StoreError::other)?,
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
    for w in &effects.customer_writes {
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
    let row: Option<(i64, String, String, i64, i64)> = c
        .prepare_cached(
            "SELECT gameball_id, customer_id, profile, created_at, updated_at FROM customers \
             WHERE tenant_id = ?1 AND customer_id = ?2",
        )
        .map_err(sql_err)?
        .query_row(params![tenant, customer_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()
        .map_err(sql_err)?;
    row.map(|(gid, cid, profile, created, updated)| {
        Ok(CustomerView {
            record: record_from(gid, cid, &profile)?,
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
    c.execute("DELETE FROM customers WHERE gameball_id = ?1", [gid])
        .map_err(sql_err)?;
    Ok(true)
}
