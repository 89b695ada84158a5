//! Chunk transactions: lock the chunk's customers in a fixed order, load them in one query, apply the pure rules, write with `UNNEST`.

use crate::{count, pg};
use deadpool_postgres::{Client, GenericClient};
use domain::chunk::{self, ChunkState};
use domain::customers::Profile;
use domain::outcome::render;
use domain::{ChunkEffects, ChunkItems, CustomerId, CustomerRecord, Outcome};
use store::*;
use time::OffsetDateTime;
use wire::JobState;

pub async fn apply_chunk(
    c: &mut Client,
    fence: Fence,
    work: ChunkWork,
) -> Result<ChunkCommitted, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // The job row's lock orders this commit against a stop or a takeover.
    let job = tx
        .query_opt(
            "SELECT status, lease_token, cursor, item_count, finished_count, error_count \
             FROM jobs WHERE id = $1 FOR UPDATE",
            &[&fence.job_id],
        )
        .await
        .map_err(pg)?;
    let Some(job) = job else {
        return Err(StoreError::Fenced);
    };
    let (status, token): (String, i64) = (job.get(0), job.get(1));
    let (cursor, item_count) = (count(job.get(2)), count(job.get(3)));
    if status != "running" || token != fence.token || cursor != work.from {
        return Err(StoreError::Fenced);
    }
    let effects = load_and_apply(&tx, work.tenant_id, work.items).await?;
    write_effects(&tx, work.tenant_id, &effects, Some(fence.job_id), work.now).await?;

    let rendered = render(&effects.outcomes);
    tx.execute(
        "INSERT INTO job_results (job_id, first_index, successful, failed) VALUES ($1, $2, $3, $4)",
        &[
            &fence.job_id,
            &(work.from as i32),
            &rendered.successful,
            &rendered.failed,
        ],
    )
    .await
    .map_err(pg)?;

    let new_cursor = work.from + effects.outcomes.len() as u32;
    let finished = count(job.get(4)) + rendered.succeeded;
    let errored = count(job.get(5)) + rendered.errored;
    let final_state = (new_cursor >= item_count).then(|| final_state(finished));
    match final_state {
        None => {
            tx.execute(
                "UPDATE jobs SET cursor = $2, finished_count = $3, error_count = $4, lease_expires_at = $5 \
                 WHERE id = $1",
                &[
                    &fence.job_id,
                    &(new_cursor as i32),
                    &(finished as i32),
                    &(errored as i32),
                    &to_millis(work.lease_until),
                ],
            )
            .await
            .map_err(pg)?;
        }
        Some(state) => {
            tx.execute(
                "UPDATE jobs SET cursor = $2, finished_count = $3, error_count = $4, status = $5, \
                 finished_at = $6, expires_at = $7, lease_expires_at = NULL WHERE id = $1",
                &[
                    &fence.job_id,
                    &(new_cursor as i32),
                    &(finished as i32),
                    &(errored as i32),
                    &state.as_str(),
                    &to_millis(work.now),
                    &to_millis(add(work.now, work.retention)),
                ],
            )
            .await
            .map_err(pg)?;
            tx.execute("DELETE FROM job_items WHERE job_id = $1", &[&fence.job_id])
                .await
                .map_err(pg)?;
        }
    }
    tx.commit().await.map_err(pg)?;
    Ok(ChunkCommitted {
        cursor: new_cursor,
        finished: final_state.filter(|s: &JobState| s.is_final()),
    })
}

pub async fn apply_single(
    c: &mut Client,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
) -> Result<Outcome, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    let mut effects = load_and_apply(&tx, tenant, items).await?;
    write_effects(&tx, tenant, &effects, None, now).await?;
    tx.commit().await.map_err(pg)?;
    effects
        .outcomes
        .pop()
        .ok_or_else(|| StoreError::Conflict("a single call needs exactly one item".into()))
}

/// Locks the chunk's customer keys (sorted, so two chunks never deadlock; new
/// customers included, so two jobs cannot both create one), loads the existing
/// ones in one query, takes fresh ids for the rest, and runs the domain rules.
async fn load_and_apply(
    tx: &impl GenericClient,
    tenant: TenantId,
    items: ChunkItems,
) -> Result<ChunkEffects, StoreError> {
    let keys = items.customer_ids();
    let mut state = ChunkState::default();
    if !keys.is_empty() {
        let mut sorted: Vec<&str> = keys.iter().map(CustomerId::as_str).collect();
        sorted.sort_unstable();
        lock_customers(tx, tenant, &sorted).await?;
        let rows = tx
            .query(
                "SELECT gameball_id, customer_id, profile FROM customers \
                 WHERE tenant_id = $1 AND customer_id = ANY($2)",
                &[&tenant, &sorted],
            )
            .await
            .map_err(pg)?;
        for r in &rows {
            let record = record_from(r.get(0), r.get(1), r.get(2))?;
            state.customers.insert(record.customer_id.clone(), record);
        }
        let missing: Vec<&CustomerId> = keys
            .iter()
            .filter(|k| !state.customers.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            let ids = tx
                .query(
                    "SELECT nextval('gameball_ids') FROM generate_series(1, $1::BIGINT)",
                    &[&(missing.len() as i64)],
                )
                .await
                .map_err(pg)?;
            for (key, row) in missing.into_iter().zip(ids.iter()) {
                state.fresh_ids.insert(key.clone(), row.get(0));
            }
        }
    }
    Ok(chunk::apply(state, items))
}

/// Transaction-scoped advisory locks on (tenant, customer id), taken in the given order.
async fn lock_customers(
    tx: &impl GenericClient,
    tenant: TenantId,
    sorted: &[&str],
) -> Result<(), StoreError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::TEXT || '/' || k, 0)) \
         FROM UNNEST($2::TEXT[]) WITH ORDINALITY AS u(k, n) ORDER BY n",
        &[&tenant.to_string(), &sorted],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

fn record_from(
    gameball_id: i64,
    customer_id: String,
    profile: String,
) -> Result<CustomerRecord, StoreError> {
    Ok(CustomerRecord {
        gameball_id,
        customer_id: CustomerId::parse(&customer_id)
            .map_err(|f| StoreError::Conflict(f.message))?,
        profile: serde_json::from_str::<Profile>(&profile).map_err(StoreError::other)?,
    })
}

async fn write_effects(
    tx: &impl GenericClient,
    tenant: TenantId,
    effects: &ChunkEffects,
    job: Option<JobId>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let now = to_millis(now);
    let (mut new_ids, mut new_keys, mut new_profiles) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ids, mut profiles) = (Vec::new(), Vec::new());
    for w in &effects.customer_writes {
        let profile = serde_json::to_string(&w.record.profile).map_err(StoreError::other)?;
        if w.is_new {
            new_ids.push(w.record.gameball_id);
            new_keys.push(w.record.customer_id.as_str());
            new_profiles.push(profile);
        } else {
            ids.push(w.record.gameball_id);
            profiles.push(profile);
        }
    }
    if !new_ids.is_empty() {
        tx.execute(
            "INSERT INTO customers (gameball_id, tenant_id, customer_id, profile, created_at, updated_at) \
             SELECT g, $1, c, p, $5, $5 FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS u(g, c, p)",
            &[&tenant, &new_ids, &new_keys, &new_profiles, &now],
        )
        .await
        .map_err(pg)?;
    }
    if !ids.is_empty() {
        tx.execute(
            "UPDATE customers SET profile = u.p, updated_at = $3 \
             FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS u(g, p) WHERE customers.gameball_id = u.g",
            &[&ids, &profiles, &now],
        )
        .await
        .map_err(pg)?;
    }
    if !effects.events.is_empty() {
        let owners: Vec<i64> = effects.events.iter().map(|e| e.gameball_id).collect();
        let names: Vec<&str> = effects.events.iter().map(|e| e.name.as_str()).collect();
        let metadata: Vec<&str> = effects.events.iter().map(|e| e.metadata.as_str()).collect();
        let indexes: Vec<i32> = effects.events.iter().map(|e| e.item_index as i32).collect();
        tx.execute(
            "INSERT INTO events (tenant_id, gameball_id, name, metadata, created_at, job_id, item_index) \
             SELECT $1, g, n, m, $5, $6, i FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $7::INTEGER[]) \
             AS u(g, n, m, i)",
            &[&tenant, &owners, &names, &metadata, &now, &job, &indexes],
        )
        .await
        .map_err(pg)?;
    }
    Ok(())
}

pub async fn customer(
    c: &impl GenericClient,
    tenant: TenantId,
    customer_id: &str,
) -> Result<Option<CustomerView>, StoreError> {
    let row = c
        .query_opt(
            "SELECT gameball_id, customer_id, profile, created_at, updated_at FROM customers \
             WHERE tenant_id = $1 AND customer_id = $2",
            &[&tenant, &customer_id],
        )
        .await
        .map_err(pg)?;
    row.map(|r| {
        Ok(CustomerView {
            record: record_from(r.get(0), r.get(1), r.get(2))?,
            created_at: from_millis(r.get(3)),
            updated_at: from_millis(r.get(4)),
        })
    })
    .transpose()
}

pub async fn delete_customer(
    c: &mut Client,
    tenant: TenantId,
    customer_id: &str,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    lock_customers(&tx, tenant, &[customer_id]).await?;
    let row = tx
        .query_opt(
            "SELECT gameball_id FROM customers WHERE tenant_id = $1 AND customer_id = $2",
            &[&tenant, &customer_id],
        )
        .await
        .map_err(pg)?;
    let Some(row) = row else {
        return Ok(false);
    };
    let gid: i64 = row.get(0);
    tx.execute("DELETE FROM events WHERE gameball_id = $1", &[&gid])
        .await
        .map_err(pg)?;
    tx.execute("DELETE FROM customers WHERE gameball_id = $1", &[&gid])
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(true)
}
