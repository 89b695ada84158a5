//! Job rows: intake, reads, stop, claims and leases, item segments, purge.

use crate::sql_err;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::time::Duration;
use store::ending::{self, JobEnd};
use store::rows::{JOB_COLUMNS, JobColumns};
use store::*;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Result<JobRecord, StoreError>> {
    let (batch_type, status): (String, String) = (r.get(2)?, r.get(3)?);
    Ok(JobColumns {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        batch_type: &batch_type,
        status: &status,
        item_count: r.get(4)?,
        cursor: r.get(5)?,
        finished_count: r.get(6)?,
        error_count: r.get(7)?,
        error: r.get(8)?,
        created_at: r.get(9)?,
        started_at: r.get(10)?,
        finished_at: r.get(11)?,
        expires_at: r.get(12)?,
    }
    .parse())
}

pub fn create(c: &Connection, job: &NewJob) -> Result<JobCreation, StoreError> {
    let now = to_millis(job.now);
    if let Some(idem) = &job.idempotency {
        let existing: Option<(i64, Option<String>, i64)> = c
            .prepare_cached(
                "SELECT id, body_hash, created_at FROM jobs WHERE tenant_id = ?1 AND idempotency_key = ?2",
            )
            .map_err(sql_err)?
            .query_row(params![job.tenant_id, idem.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(sql_err)?;
        if let Some((job_id, body_hash, created_at)) = existing {
            let keyed = rules::KeyedJob {
                job_id,
                body_hash,
                created_at,
            };
            if let Some(answer) = rules::replay(&keyed, idem, now) {
                return answer;
            }
            c.execute(
                "UPDATE jobs SET idempotency_key = NULL WHERE id = ?1",
                [job_id],
            )
            .map_err(sql_err)?;
        }
    }
    let unprocessed: i64 = c
        .prepare_cached(
            "SELECT coalesce(sum(item_count - cursor), 0) FROM jobs \
             WHERE tenant_id = ?1 AND status IN ('queued', 'running')",
        )
        .map_err(sql_err)?
        .query_row([job.tenant_id], |r| r.get(0))
        .map_err(sql_err)?;
    rules::admit(unprocessed, job)?;
    let id: i64 = c
        .prepare_cached(
            "INSERT INTO jobs (tenant_id, type, status, item_count, idempotency_key, body_hash, created_at) \
             VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6) RETURNING id",
        )
        .map_err(sql_err)?
        .query_row(
            params![
                job.tenant_id,
                job.batch_type.as_str(),
                job.item_count,
                job.idempotency.as_ref().map(|i| &i.key),
                job.idempotency.as_ref().map(|i| &i.body_hash),
                now
            ],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    {
        let mut insert = c
            .prepare_cached(
                "INSERT INTO job_items (job_id, first_index, items) VALUES (?1, ?2, ?3)",
            )
            .map_err(sql_err)?;
        for seg in &job.segments {
            insert
                .execute(params![id, seg.first_index, seg.json])
                .map_err(sql_err)?;
        }
    }
    Ok(JobCreation::Created(id))
}

pub fn get(c: &Connection, tenant: TenantId, job: JobId) -> Result<Option<JobRecord>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1 AND tenant_id = ?2"
    ))
    .map_err(sql_err)?
    .query_row(params![job, tenant], job_from_row)
    .optional()
    .map_err(sql_err)?
    .transpose()
}

pub fn by_id(c: &Connection, jobs: &[(TenantId, JobId)]) -> Result<Vec<JobRecord>, StoreError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let ids = std::rc::Rc::new(
        jobs.iter()
            .map(|(_, id)| rusqlite::types::Value::Integer(*id))
            .collect::<Vec<_>>(),
    );
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id IN rarray(?1)"
        ))
        .map_err(sql_err)?;
    let rows = st.query_map(params![ids], job_from_row).map_err(sql_err)?;
    let wanted: std::collections::HashSet<&(TenantId, JobId)> = jobs.iter().collect();
    let mut found = Vec::with_capacity(jobs.len());
    for row in rows {
        let job = row.map_err(sql_err)??;
        if wanted.contains(&(job.tenant_id, job.id)) {
            found.push(job);
        }
    }
    Ok(found)
}

pub fn get_with_results(
    c: &mut Connection,
    tenant: TenantId,
    job: JobId,
) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
    // One read transaction: the counts and the arrays come from the same snapshot.
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .map_err(sql_err)?;
    let Some(record) = get(&tx, tenant, job)? else {
        return Ok(None);
    };
    let chunks = {
        let mut st = tx
            .prepare_cached(
                "SELECT successful, failed FROM job_results WHERE job_id = ?1 ORDER BY first_index",
            )
            .map_err(sql_err)?;
        let rows = st
            .query_map([job], |r| {
                Ok(ResultChunk {
                    successful: r.get(0)?,
                    failed: r.get(1)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)?
    };
    tx.finish().map_err(sql_err)?;
    Ok(Some((record, chunks)))
}

pub fn list(c: &Connection, tenant: TenantId, f: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ?1 \
             AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR type = ?3) AND (?4 IS NULL OR id < ?4) \
             ORDER BY id DESC LIMIT ?5"
        ))
        .map_err(sql_err)?;
    let rows = st
        .query_map(
            params![
                tenant,
                f.state.map(JobState::as_str),
                f.batch_type.map(BatchType::as_str),
                f.before,
                f.limit
            ],
            job_from_row,
        )
        .map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)?).collect()
}

pub fn stop(
    c: &Connection,
    tenant: TenantId,
    job: JobId,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<StopOutcome, StoreError> {
    let Some(record) = get(c, tenant, job)? else {
        return Ok(StopOutcome::NotFound);
    };
    if let Some(answer) = rules::stop_answer(&record) {
        return Ok(answer);
    }
    let stopped = end(c, &JobEnd::stopped(job, now, retention))?.ok_or(StoreError::NotFound)?;
    Ok(StopOutcome::Stopped(stopped))
}

/// Ends a job (its last chunk, a stop, a failure) in one `UPDATE … RETURNING`:
/// its item texts go unless some failed, and its webhook deliveries are
/// written from the row returned. `None` when `end.token` no longer holds.
pub fn end(c: &Connection, end: &JobEnd) -> Result<Option<JobRecord>, StoreError> {
    let [cursor, finished, errored] = end.counts.map_or([None; 3], |n| n.map(Some));
    let ended = c
        .prepare_cached(&format!(
            "UPDATE jobs SET status = ?2, error = coalesce(?3, error), cursor = coalesce(?4, cursor), \
             finished_count = coalesce(?5, finished_count), error_count = coalesce(?6, error_count), \
             finished_at = ?7, expires_at = ?8, lease_expires_at = NULL \
             WHERE id = ?1 AND (?9 IS NULL OR (lease_token = ?9 AND status = 'running')) \
             RETURNING {JOB_COLUMNS}"
        ))
        .map_err(sql_err)?
        .query_row(
            params![
                end.job_id,
                end.state.as_str(),
                end.error,
                cursor,
                finished,
                errored,
                end.finished_at,
                end.expires_at,
                end.token
            ],
            job_from_row,
        )
        .optional()
        .map_err(sql_err)?
        .transpose()?;
    let Some(job) = ended else {
        return Ok(None);
    };
    if ending::drops_items(&job) {
        c.prepare_cached("DELETE FROM job_items WHERE job_id = ?1")
            .map_err(sql_err)?
            .execute([job.id])
            .map_err(sql_err)?;
    }
    crate::webhooks::enqueue_final(c, &job)?;
    Ok(Some(job))
}

pub fn claim(
    c: &Connection,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<Option<Claim>, StoreError> {
    let now_ms = to_millis(now);
    // Round robin between tenants: the tenant claimed from longest ago goes first,
    // then its oldest runnable job (queued, or running under a lapsed lease).
    let next: Option<(i64, i64, String, u32, u32, bool)> = c
        .prepare_cached(
            "SELECT j.id, j.tenant_id, j.type, j.cursor, j.item_count, \
             j.status = 'running' AND j.lease_expires_at > 0 FROM jobs j \
             JOIN tenants t ON t.id = j.tenant_id \
             WHERE j.status = 'queued' OR (j.status = 'running' AND j.lease_expires_at < ?1) \
             ORDER BY t.last_claim_seq, j.id LIMIT 1",
        )
        .map_err(sql_err)?
        .query_row([now_ms], |r| {
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
    // A job given back at shutdown is `running` with no lease: no takeover.
    let Some((job_id, tenant_id, type_text, cursor, item_count, taken_over)) = next else {
        return Ok(None);
    };
    let token: i64 = c
        .prepare_cached(
            "UPDATE jobs SET status = 'running', lease_token = lease_token + 1, lease_expires_at = ?2, \
             started_at = coalesce(started_at, ?3) WHERE id = ?1 RETURNING lease_token",
        )
        .map_err(sql_err)?
        .query_row(params![job_id, to_millis(add(now, lease)), now_ms], |r| r.get(0))
        .map_err(sql_err)?;
    let seq: i64 = c
        .prepare_cached(
            "UPDATE counters SET value = value + 1 WHERE name = 'claim_seq' RETURNING value",
        )
        .map_err(sql_err)?
        .query_row([], |r| r.get(0))
        .map_err(sql_err)?;
    c.prepare_cached("UPDATE tenants SET last_claim_seq = ?2 WHERE id = ?1")
        .map_err(sql_err)?
        .execute(params![tenant_id, seq])
        .map_err(sql_err)?;
    let batch_type = store::rows::batch_type(&type_text)?;
    Ok(Some(Claim {
        fence: Fence { job_id, token },
        tenant_id,
        batch_type,
        cursor,
        item_count,
        taken_over,
    }))
}

pub fn renew_lease(
    c: &Connection,
    fence: Fence,
    until: OffsetDateTime,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE jobs SET lease_expires_at = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'running'",
        )
        .map_err(sql_err)?
        .execute(params![fence.job_id, fence.token, to_millis(until)])
        .map_err(sql_err)?;
    Ok(n == 1)
}

pub fn release(c: &Connection, fence: Fence) -> Result<(), StoreError> {
    c.execute(
        "UPDATE jobs SET lease_expires_at = 0 WHERE id = ?1 AND lease_token = ?2 AND status = 'running'",
        params![fence.job_id, fence.token],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn fail(
    c: &Connection,
    fence: Fence,
    reason: &str,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<bool, StoreError> {
    Ok(end(c, &JobEnd::failed(fence, reason, now, retention))?.is_some())
}

pub fn load_items(
    c: &Connection,
    job: JobId,
    from: u32,
    count: u32,
) -> Result<Vec<(u32, String)>, StoreError> {
    let end = from.saturating_add(count);
    let mut st = c
        .prepare_cached(
            "SELECT first_index, items FROM job_items WHERE job_id = ?1 \
             AND first_index < ?3 AND first_index >= \
             coalesce((SELECT max(first_index) FROM job_items WHERE job_id = ?1 AND first_index <= ?2), 0) \
             ORDER BY first_index",
        )
        .map_err(sql_err)?;
    let segments = st
        .query_map(params![job, from, end], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    slice_segments(segments, from, count).map_err(StoreError::other)
}

pub fn purge_expired(c: &Connection, now: OffsetDateTime) -> Result<u64, StoreError> {
    let n = c
        .execute("DELETE FROM jobs WHERE expires_at < ?1", [to_millis(now)])
        .map_err(sql_err)?;
    crate::webhooks::purge(c, now)?;
    c.execute(
        "DELETE FROM ended_console_sessions WHERE expires_at < ?1",
        [to_millis(now)],
    )
    .map_err(sql_err)?;
    Ok(n as u64)
}

pub fn throughput(
    c: &Connection,
    tenant: TenantId,
    since: OffsetDateTime,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let sql = store::rows::THROUGHPUT
        .replace("{1}", "?1")
        .replace("{2}", "?2");
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let rows = st
        .query_map(params![tenant, to_millis(since)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            ))
        })
        .map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}
