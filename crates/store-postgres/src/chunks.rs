//! Chunk transactions: lock the chunk's customers in a fixed order, load them in one query, apply the pure rules, write with `UNNEST`.

use crate::{count, pg, prepared};
use deadpool_postgres::{Client, GenericClient};
use domain::{ChunkEffects, ChunkItems, Outcome};
use store::chunk::*;
use store::rows::{CURRENT_LEDGER, MOVEMENT_COLUMNS, MovementColumns, record_from};
use store::*;
use time::OffsetDateTime;

pub async fn apply_chunk(
    c: &mut Client,
    fence: Fence,
    mut work: ChunkWork,
) -> Result<ChunkCommitted, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // The job row's lock orders this commit against a stop or a takeover.
    let job = prepared::query_opt(
        &tx,
        "SELECT status, lease_token, cursor, item_count, finished_count, error_count \
             FROM jobs WHERE id = $1 FOR UPDATE",
        &[&fence.job_id],
    )
    .await?
    .map(|r| JobProgress {
        status: r.get(0),
        token: r.get(1),
        cursor: count(r.get(2)),
        item_count: count(r.get(3)),
        finished_count: count(r.get(4)),
        error_count: count(r.get(5)),
    });
    let job = check_fence(job.as_ref(), fence, work.from)?;
    let items = work.take_items();
    let effects = load_and_apply(&tx, work.tenant_id, items, work.now, Some(fence.job_id)).await?;
    write_effects(&tx, work.tenant_id, &effects, Some(fence.job_id), work.now).await?;
    let advance = Advance::after(job, fence, &work, &effects.outcomes);
    write_advance(&tx, &advance).await?;
    tx.commit().await.map_err(pg)?;
    Ok(advance.committed())
}

/// The job's results row, counts and cursor, and its end when the chunk was its last.
async fn write_advance(tx: &impl GenericClient, a: &Advance) -> Result<(), StoreError> {
    prepared::execute(
        tx,
        "INSERT INTO job_results (job_id, first_index, successful, failed, items, committed_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &a.job_id,
            &(a.from as i32),
            &a.results.successful,
            &a.results.failed,
            &(a.items() as i32),
            &a.committed_at,
        ],
    )
    .await?;
    match store::ending::JobEnd::of_last_chunk(a) {
        None => {
            let counts = [
                a.cursor as i32,
                a.finished_count as i32,
                a.error_count as i32,
            ];
            prepared::execute(tx, "UPDATE jobs SET cursor = $2, finished_count = $3, error_count = $4, lease_expires_at = $5 \
                 WHERE id = $1",
                &[&a.job_id, &counts[0], &counts[1], &counts[2], &a.lease_until]).await?;
        }
        Some(end) => {
            crate::jobs::end(tx, &end).await?;
        }
    }
    Ok(())
}

pub async fn apply_single(
    c: &mut Client,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
) -> Result<Outcome, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    let effects = load_and_apply(&tx, tenant, items, now, None).await?;
    write_effects(&tx, tenant, &effects, None, now).await?;
    tx.commit().await.map_err(pg)?;
    single_outcome(effects.outcomes)
}

/// Locks the chunk's customers and transaction ids (in one fixed order, so two
/// chunks never deadlock; new keys included, so two jobs cannot both create a
/// customer or both use a transaction id), then [`load_and_apply_locked`].
async fn load_and_apply(
    tx: &impl GenericClient,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
    job: Option<JobId>,
) -> Result<ChunkEffects, StoreError> {
    let needs = Needs::of(&items);
    let keys = lock_names(tenant, &needs.customer_keys(), &needs.transaction_ids);
    lock(tx, &keys).await?;
    load_and_apply_locked(tx, tenant, items, now, job).await
}

/// Loads the tenant's settings, the existing customers and the used
/// transaction ids (one query each), takes fresh ids, and runs the domain
/// rules; the caller holds the locks of [`lock_names`].
pub(crate) async fn load_and_apply_locked(
    tx: &impl GenericClient,
    tenant: TenantId,
    items: ChunkItems,
    now: OffsetDateTime,
    job: Option<JobId>,
) -> Result<ChunkEffects, StoreError> {
    let needs = Needs::of(&items);
    let customer_keys = needs.customer_keys();
    let settings = crate::tenants::settings(tx, tenant).await?;
    let mut loaded = Loaded::new(settings, now, job);
    if !customer_keys.is_empty() {
        let rows = prepared::query(tx, &format!(
                    "SELECT c.gameball_id, c.customer_id, CASE WHEN $3 THEN c.profile ELSE '{{}}' END, \
                     {CURRENT_LEDGER} FROM customers c WHERE c.tenant_id = $1 AND c.customer_id = ANY($2)"
                ),
                &[&tenant, &customer_keys, &needs.profiles]).await?;
        for r in &rows {
            loaded
                .customers
                .push(record_from(r.get(0), r.get(1), r.get(2), r.get(3))?);
        }
    }
    if !needs.transaction_ids.is_empty() {
        let rows = prepared::query(tx, "SELECT transaction_id FROM movements WHERE tenant_id = $1 AND transaction_id = ANY($2)",
                &[&tenant, &needs.transaction_ids]).await?;
        loaded.used_transaction_ids = rows.iter().map(|r| r.get(0)).collect();
    }
    if !needs.references.is_empty() {
        let rows = prepared::query(tx, &format!(
                    "SELECT {MOVEMENT_COLUMNS} FROM movements m WHERE m.tenant_id = $1 AND \
                     (m.transaction_id = ANY($2) OR m.order_id = ANY($2) OR m.reverses = ANY($2)) ORDER BY m.id"
                ),
                &[&tenant, &needs.references]).await?;
        loaded.recorded = rows.iter().map(movement_from).collect::<Result<_, _>>()?;
    }
    let (customers, movements) = needs.allocations(&loaded, &items);
    let fresh = next_values(tx, "gameball_ids", customers).await?;
    let movement_ids = next_values(tx, "movement_ids", movements).await?;
    Ok(needs.apply(loaded, fresh, movement_ids, items))
}

/// `n` values of a sequence (one query).
async fn next_values(
    tx: &impl GenericClient,
    sequence: &str,
    n: usize,
) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = prepared::query(
        tx,
        "SELECT nextval($1::TEXT::REGCLASS) FROM generate_series(1, $2::BIGINT)",
        &[&sequence, &(n as i64)],
    )
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The advisory lock keys of a chunk's customers and transaction ids.
pub(crate) fn lock_names(
    tenant: TenantId,
    customers: &[&str],
    transaction_ids: &[String],
) -> Vec<String> {
    customers
        .iter()
        .map(|c| format!("{tenant}/{c}"))
        .chain(transaction_ids.iter().map(|t| format!("{tenant}#{t}")))
        .collect()
}

/// Transaction-scoped advisory locks on `keys`, taken in ascending lock-key
/// order in one statement (the only order every transaction agrees on).
pub(crate) async fn lock(tx: &impl GenericClient, keys: &[String]) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    prepared::execute(
        tx,
        "SELECT pg_advisory_xact_lock(h) FROM \
         (SELECT DISTINCT hashtextextended(k, 0) AS h FROM UNNEST($1::TEXT[]) AS u(k) ORDER BY h) AS s",
        &[&keys],
    )
    .await?;
    Ok(())
}

pub(crate) async fn write_effects(
    tx: &impl GenericClient,
    tenant: TenantId,
    effects: &ChunkEffects,
    job: Option<JobId>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let now = to_millis(now);
    // Rows only for new customers and changed profiles; ledgers ride on the movements.
    let (mut new_ids, mut new_keys, mut new_profiles) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ids, mut profiles) = (Vec::new(), Vec::new());
    for w in &effects.customer_writes {
        if !(w.is_new || w.profile_changed) {
            continue;
        }
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
        prepared::execute(tx, "INSERT INTO customers (gameball_id, tenant_id, customer_id, profile, created_at, updated_at) \
             SELECT g, $1, c, p, $5, $5 FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS u(g, c, p)",
            &[&tenant, &new_ids, &new_keys, &new_profiles, &now]).await?;
    }
    if !ids.is_empty() {
        prepared::execute(
            tx,
            "UPDATE customers SET profile = u.p, updated_at = $3 \
             FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS u(g, p) WHERE customers.gameball_id = u.g",
            &[&ids, &profiles, &now],
        )
        .await?;
    }
    if !effects.movements.is_empty() {
        let m = &effects.movements;
        let entries = m
            .iter()
            .map(|m| serde_json::to_string(&m.entry))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::other)?;
        let on_movement = ledgers_on_movements(effects)?;
        let ledgers = m
            .iter()
            .map(|m| {
                on_movement
                    .get(&m.id)
                    .map(serde_json::to_string)
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::other)?;
        prepared::execute(tx, "INSERT INTO movements (id, tenant_id, gameball_id, kind, transaction_id, hold_reference, \
             points, amount, transaction_time, entry, created_at, job_id, item_index, order_id, reverses, ledger) \
             SELECT i, $1, g, k, t, h, p, a, tt, e, $2, $3, ix, o, r, l FROM UNNEST($4::BIGINT[], $5::BIGINT[], \
             $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::BIGINT[], $10::TEXT[], $11::BIGINT[], $12::TEXT[], \
             $13::INTEGER[], $14::TEXT[], $15::TEXT[], $16::TEXT[]) AS u(i, g, k, t, h, p, a, tt, e, ix, o, r, l)",
            &[
                &tenant,
                &now,
                &job,
                &m.iter().map(|m| m.id).collect::<Vec<_>>(),
                &m.iter().map(|m| m.gameball_id).collect::<Vec<_>>(),
                &m.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
                &m.iter().map(|m| m.transaction_id.as_deref()).collect::<Vec<_>>(),
                &m.iter().map(|m| m.hold_reference.as_deref()).collect::<Vec<_>>(),
                &m.iter().map(|m| m.points).collect::<Vec<_>>(),
                &m.iter().map(|m| m.amount.map(|a| a.to_string())).collect::<Vec<_>>(),
                &m.iter().map(|m| m.transaction_time).collect::<Vec<_>>(),
                &entries,
                &m.iter().map(|m| m.item_index.map(|i| i as i32)).collect::<Vec<_>>(),
                &m.iter().map(|m| m.order_id.as_deref()).collect::<Vec<_>>(),
                &m.iter().map(|m| m.reverses.as_deref()).collect::<Vec<_>>(),
                &ledgers,
            ]).await?;
    }
    if !effects.events.is_empty() {
        let owners: Vec<i64> = effects.events.iter().map(|e| e.gameball_id).collect();
        let names: Vec<&str> = effects.events.iter().map(|e| e.name.as_str()).collect();
        let metadata: Vec<&str> = effects.events.iter().map(|e| e.metadata.as_str()).collect();
        let indexes: Vec<i32> = effects.events.iter().map(|e| e.item_index as i32).collect();
        prepared::execute(tx, "INSERT INTO events (tenant_id, gameball_id, name, metadata, created_at, job_id, item_index) \
             SELECT $1, g, n, m, $5, $6, i FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $7::INTEGER[]) \
             AS u(g, n, m, i)",
            &[&tenant, &owners, &names, &metadata, &now, &job, &indexes]).await?;
    }
    Ok(())
}

pub async fn delete_customer(
    c: &mut Client,
    tenant: TenantId,
    customer_id: &str,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    lock(&tx, &lock_names(tenant, &[customer_id], &[])).await?;
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
    tx.execute("DELETE FROM movements WHERE gameball_id = $1", &[&gid])
        .await
        .map_err(pg)?;
    tx.execute("DELETE FROM customers WHERE gameball_id = $1", &[&gid])
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(true)
}

fn movement_from(r: &tokio_postgres::Row) -> Result<MovementRow, StoreError> {
    MovementColumns {
        id: r.get(0),
        kind: r.get(1),
        transaction_id: r.get(2),
        hold_reference: r.get(3),
        points: r.get(4),
        amount: r.get(5),
        transaction_time: r.get(6),
        created_at: r.get(7),
        entry: r.get(8),
        gameball_id: r.get(9),
        order_id: r.get(10),
        reverses: r.get(11),
        item_index: r.get::<_, Option<i32>>(12).map(|i| i as u32),
    }
    .parse()
}

pub async fn movements(
    c: &impl GenericClient,
    tenant: TenantId,
    customer_id: &str,
) -> Result<Vec<MovementRow>, StoreError> {
    let rows = prepared::query(c, &format!(
                "SELECT {MOVEMENT_COLUMNS} FROM movements m JOIN customers c ON c.gameball_id = m.gameball_id \
                 WHERE c.tenant_id = $1 AND c.customer_id = $2 ORDER BY m.id"
            ),
            &[&tenant, &customer_id]).await?;
    rows.iter().map(movement_from).collect()
}

pub async fn hold(
    c: &impl GenericClient,
    tenant: TenantId,
    reference: &str,
    now: OffsetDateTime,
) -> Result<Option<HoldRecord>, StoreError> {
    let rows = prepared::query(
        c,
        &format!(
            "SELECT {MOVEMENT_COLUMNS}, c.customer_id FROM movements m \
                 JOIN customers c ON c.gameball_id = m.gameball_id \
                 WHERE m.tenant_id = $1 AND m.hold_reference = $2 ORDER BY m.id"
        ),
        &[&tenant, &reference],
    )
    .await?;
    let Some(owner) = rows.first().map(|r| r.get::<_, String>(13)) else {
        return Ok(None);
    };
    let movements = rows
        .iter()
        .map(movement_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(hold_record(owner, &movements, to_millis(now)))
}
