//! Job rows: intake, reads, stop, claims (`FOR UPDATE SKIP LOCKED`) and leases, item segments, purge.

use crate::{count, pg};
use deadpool_postgres::{Client, GenericClient};
use std::time::Duration;
use store::ending::{self, JobEnd};
use store::rows::{JOB_COLUMNS, JobColumns};
use store::*;
use time::OffsetDateTime;
use tokio_postgres::{IsolationLevel, Row};
use wire::{BatchType, JobState};

pub(crate) fn job_from_row(r: &Row) -> Result<JobRecord, StoreError> {
    JobColumns {
        id: r.get(0),
        tenant_id: r.get(1),
        batch_type: r.get(2),
        status: r.get(3),
        item_count: count(r.get(4)),
        cursor: count(r.get(5)),
        finished_count: count(r.get(6)),
        error_count: count(r.get(7)),
        error: r.get(8),
        created_at: r.get(9),
        started_at: r.get(10),
        finished_at: r.get(11),
        expires_at: r.get(12),
    }
    .parse()
}

pub async fn create(c: &mut Client, job: &NewJob) -> Result<JobCreation, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    let created = create_in(&tx, job).await?;
    if let JobCreation::Created(_) = created {
        tx.commit().await.map_err(pg)?;
    }
    Ok(created)
}

/// Stores a job inside the caller's transaction (it commits).
pub(crate) async fn create_in(
    tx: &deadpool_postgres::Transaction<'_>,
    job: &NewJob,
) -> Result<JobCreation, StoreError> {
    let now = to_millis(job.now);
    // Intake of one tenant is serialized on its row: the queue limit and the
    // idempotency key are decided exactly, whatever the concurrency.
    tx.execute(
        "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
        &[&job.tenant_id],
    )
    .await
    .map_err(pg)?;
    if let Some(idem) = &job.idempotency {
        let existing = tx
            .query_opt(
                "SELECT id, body_hash, created_at FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2",
                &[&job.tenant_id, &idem.key],
            )
            .await
            .map_err(pg)?;
        if let Some(row) = existing {
            let keyed = rules::KeyedJob {
                job_id: row.get(0),
                body_hash: row.get(1),
                created_at: row.get(2),
            };
            if let Some(answer) = rules::replay(&keyed, idem, now) {
                return answer;
            }
            tx.execute(
                "UPDATE jobs SET idempotency_key = NULL WHERE id = $1",
                &[&keyed.job_id],
            )
            .await
            .map_err(pg)?;
        }
    }
    let unprocessed: i64 = tx
        .query_one(
            "SELECT coalesce(sum(item_count - cursor), 0)::BIGINT FROM jobs \
             WHERE tenant_id = $1 AND status IN ('queued', 'running')",
            &[&job.tenant_id],
        )
        .await
        .map_err(pg)?
        .get(0);
    rules::admit(unprocessed, job)?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO jobs (tenant_id, type, status, item_count, idempotency_key, body_hash, created_at) \
             VALUES ($1, $2, 'queued', $3, $4, $5, $6) RETURNING id",
            &[
                &job.tenant_id,
                &job.batch_type.as_str(),
                &(job.item_count as i32),
                &job.idempotency.as_ref().map(|i| i.key.as_str()),
                &job.idempotency.as_ref().map(|i| i.body_hash.as_str()),
                &now,
            ],
        )
        .await
        .map_err(pg)?
        .get(0);
    let firsts: Vec<i32> = job.segments.iter().map(|s| s.first_index as i32).collect();
    let texts: Vec<&str> = job.segments.iter().map(|s| s.json.as_str()).collect();
    tx.execute(
        "INSERT INTO job_items (job_id, first_index, items) \
         SELECT $1, f, t FROM UNNEST($2::INTEGER[], $3::TEXT[]) AS u(f, t)",
        &[&id, &firsts, &texts],
    )
    .await
    .map_err(pg)?;
    // One notification per job (delivered at commit): idle workers of every node wake up.
    tx.execute("SELECT pg_notify($1, '')", &[&crate::JOBS_CHANNEL])
        .await
        .map_err(pg)?;
    Ok(JobCreation::Created(id))
}

pub async fn get(
    c: &impl GenericClient,
    tenant: TenantId,
    job: JobId,
) -> Result<Option<JobRecord>, StoreError> {
    let row = c
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2"),
            &[&job, &tenant],
        )
        .await
        .map_err(pg)?;
    row.as_ref().map(job_from_row).transpose()
}

pub async fn by_id(
    c: &impl GenericClient,
    jobs: &[(TenantId, JobId)],
) -> Result<Vec<JobRecord>, StoreError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<JobId> = jobs.iter().map(|(_, id)| *id).collect();
    let rows = c
        .query(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ANY($1)"),
            &[&ids],
        )
        .await
        .map_err(pg)?;
    let wanted: std::collections::HashSet<&(TenantId, JobId)> = jobs.iter().collect();
    let mut found = Vec::with_capacity(jobs.len());
    for row in &rows {
        let job = job_from_row(row)?;
        if wanted.contains(&(job.tenant_id, job.id)) {
            found.push(job);
        }
    }
    Ok(found)
}

pub async fn get_with_results(
    c: &mut Client,
    tenant: TenantId,
    job: JobId,
) -> Result<Option<(JobRecord, Vec<ResultChunk>)>, StoreError> {
    // One snapshot: the counts and the arrays agree.
    let tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)?;
    let Some(record) = get(&tx, tenant, job).await? else {
        return Ok(None);
    };
    let rows = tx
        .query(
            "SELECT successful, failed FROM job_results WHERE job_id = $1 ORDER BY first_index",
            &[&job],
        )
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    let chunks = rows
        .iter()
        .map(|r| ResultChunk {
            successful: r.get(0),
            failed: r.get(1),
        })
        .collect();
    Ok(Some((record, chunks)))
}

pub async fn list(
    c: &impl GenericClient,
    tenant: TenantId,
    f: &JobFilter,
) -> Result<Vec<JobRecord>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 \
                 AND ($2::TEXT IS NULL OR status = $2) AND ($3::TEXT IS NULL OR type = $3) \
                 AND ($4::BIGINT IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
            ),
            &[
                &tenant,
                &f.state.map(JobState::as_str),
                &f.batch_type.map(BatchType::as_str),
                &f.before,
                &i64::from(f.limit),
            ],
        )
        .await
        .map_err(pg)?;
    rows.iter().map(job_from_row).collect()
}

pub async fn stop(
    c: &mut Client,
    tenant: TenantId,
    job: JobId,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<StopOutcome, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // The job row's lock orders the stop against any chunk commit of the job.
    let row = tx
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE"),
            &[&job, &tenant],
        )
        .await
        .map_err(pg)?;
    let Some(record) = row.as_ref().map(job_from_row).transpose()? else {
        return Ok(StopOutcome::NotFound);
    };
    if let Some(answer) = rules::stop_answer(&record) {
        return Ok(answer);
    }
    let stopped = end(&tx, &JobEnd::stopped(job, now, retention))
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.commit().await.map_err(pg)?;
    Ok(StopOutcome::Stopped(stopped))
}

/// Ends a job (its last chunk, a stop, a failure) in one `UPDATE … RETURNING`:
/// its item texts go unless some failed, and its webhook deliveries are
/// written from the row returned. `None` when `end.token` no longer holds.
pub async fn end(c: &impl GenericClient, end: &JobEnd) -> Result<Option<JobRecord>, StoreError> {
    let [cursor, finished, errored] = end.counts.map_or([None; 3], |n| n.map(|v| Some(v as i32)));
    let row = c
        .query_opt(
            &format!(
                "UPDATE jobs SET status = $2, error = coalesce($3, error), cursor = coalesce($4, cursor), \
                 finished_count = coalesce($5, finished_count), error_count = coalesce($6, error_count), \
                 finished_at = $7, expires_at = $8, lease_expires_at = NULL \
                 WHERE id = $1 AND ($9::BIGINT IS NULL OR (lease_token = $9 AND status = 'running')) \
                 RETURNING {JOB_COLUMNS}"
            ),
            &[
                &end.job_id,
                &end.state.as_str(),
                &end.error,
                &cursor,
                &finished,
                &errored,
                &end.finished_at,
                &end.expires_at,
                &end.token,
            ],
        )
        .await
        .map_err(pg)?;
    let Some(job) = row.as_ref().map(job_from_row).transpose()? else {
        return Ok(None);
    };
    if ending::drops_items(&job) {
        c.execute("DELETE FROM job_items WHERE job_id = $1", &[&job.id])
            .await
            .map_err(pg)?;
    }
    crate::webhooks::enqueue_final(c, &job).await?;
    Ok(Some(job))
}

pub async fn claim(
    c: &mut Client,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<Option<Claim>, StoreError> {
    let now_ms = to_millis(now);
    let tx = c.transaction().await.map_err(pg)?;
    // Round robin between tenants; a job another node is claiming right now is skipped.
    let row = tx
        .query_opt(
            "WITH next AS ( \
                 SELECT j.id, (j.status = 'running' AND j.lease_expires_at > 0) AS taken_over \
                 FROM jobs j JOIN tenants t ON t.id = j.tenant_id \
                 WHERE j.status = 'queued' OR (j.status = 'running' AND j.lease_expires_at < $1) \
                 ORDER BY t.last_claim_seq, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED) \
             UPDATE jobs SET status = 'running', lease_token = lease_token + 1, lease_expires_at = $2, \
                 started_at = coalesce(started_at, $1) \
             FROM next WHERE jobs.id = next.id \
             RETURNING jobs.id, jobs.tenant_id, jobs.type, jobs.cursor, jobs.item_count, jobs.lease_token, next.taken_over",
            &[&now_ms, &to_millis(add(now, lease))],
        )
        .await
        .map_err(pg)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (job_id, tenant_id, type_text): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
    tx.execute(
        "UPDATE tenants SET last_claim_seq = nextval('claim_seq') WHERE id = $1",
        &[&tenant_id],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    let batch_type = store::rows::batch_type(&type_text)?;
    Ok(Some(Claim {
        fence: Fence {
            job_id,
            token: row.get(5),
        },
        tenant_id,
        batch_type,
        cursor: count(row.get(3)),
        item_count: count(row.get(4)),
        // A job given back at shutdown is `running` with no lease: no takeover.
        taken_over: row.get(6),
    }))
}

pub async fn renew_lease(
    c: &impl GenericClient,
    fence: Fence,
    until: OffsetDateTime,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE jobs SET lease_expires_at = $3 WHERE id = $1 AND lease_token = $2 AND status = 'running'",
            &[&fence.job_id, &fence.token, &to_millis(until)],
        )
        .await
        .map_err(pg)?;
    Ok(n == 1)
}

pub async fn release(c: &impl GenericClient, fence: Fence) -> Result<(), StoreError> {
    c.execute(
        "UPDATE jobs SET lease_expires_at = 0 WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        &[&fence.job_id, &fence.token],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

pub async fn fail(
    c: &mut Client,
    fence: Fence,
    reason: &str,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    let ended = end(&tx, &JobEnd::failed(fence, reason, now, retention)).await?;
    tx.commit().await.map_err(pg)?;
    Ok(ended.is_some())
}

pub async fn load_items(
    c: &impl GenericClient,
    job: JobId,
    from: u32,
    count: u32,
) -> Result<Vec<(u32, String)>, StoreError> {
    let end = from.saturating_add(count) as i64;
    let rows = c
        .query(
            "SELECT first_index, items FROM job_items WHERE job_id = $1 \
             AND first_index < $3 AND first_index >= \
             coalesce((SELECT max(first_index) FROM job_items WHERE job_id = $1 AND first_index <= $2), 0) \
             ORDER BY first_index",
            &[&job, &(from as i32), &(end.min(i32::MAX as i64) as i32)],
        )
        .await
        .map_err(pg)?;
    let segments = rows
        .iter()
        .map(|r| (r.get::<_, i32>(0) as u32, r.get::<_, String>(1)));
    slice_segments(segments, from, count).map_err(StoreError::other)
}

pub async fn purge_expired(c: &impl GenericClient, now: OffsetDateTime) -> Result<u64, StoreError> {
    let n = c
        .execute("DELETE FROM jobs WHERE expires_at < $1", &[&to_millis(now)])
        .await
        .map_err(pg)?;
    crate::webhooks::purge(c, now).await?;
    c.execute(
        "DELETE FROM ended_console_sessions WHERE expires_at < $1",
        &[&to_millis(now)],
    )
    .await
    .map_err(pg)?;
    Ok(n)
}

pub async fn throughput(
    c: &impl GenericClient,
    tenant: TenantId,
    since: OffsetDateTime,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let sql = store::rows::THROUGHPUT
        .replace("{1}", "$1")
        .replace("{2}", "$2");
    let rows = c
        .query(&sql, &[&tenant, &to_millis(since)])
        .await
        .map_err(pg)?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<_, i64>(0),
                u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
            )
        })
        .collect())
}
