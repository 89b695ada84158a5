//! A job's failed items: retried once as a new job, and read with their
//! original texts (the console's downloads).

use crate::jobs::{create_in, get, job_from_row};
use crate::{count, pg};
use deadpool_postgres::{Client, GenericClient};
use std::ops::Range;
use store::rows::JOB_COLUMNS;
use store::*;
use time::OffsetDateTime;
use tokio_postgres::IsolationLevel;

pub async fn retry_failed(
    c: &mut Client,
    tenant: TenantId,
    job: JobId,
    queue_limit: u64,
    now: OffsetDateTime,
) -> Result<RetryOutcome, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // The job's row lock makes a second retry wait for the first's answer.
    let row = tx
        .query_opt(
            &format!(
                "SELECT {JOB_COLUMNS}, retried_as FROM jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
            ),
            &[&job, &tenant],
        )
        .await
        .map_err(pg)?;
    let record = row.as_ref().map(job_from_row).transpose()?;
    let retried_as: Option<i64> = row.as_ref().and_then(|r| r.get(13));
    if let Some(answer) = retry::early_answer(record.as_ref(), retried_as) {
        return Ok(answer);
    }
    let Some(record) = record else {
        return Ok(RetryOutcome::NotFound);
    };
    let fragments = failed_fragments(&tx, job).await?;
    let indexes = retry::failed_indexes(fragments.iter().map(String::as_str))?;
    if indexes.is_empty() {
        return Ok(RetryOutcome::NothingFailed);
    }
    let segments = kept_segments(&tx, job).await?;
    let Some(items) = retry::pick_items(segments, &indexes)? else {
        return Ok(RetryOutcome::ItemsGone);
    };
    let id = create_in(&tx, &retry::retry_job(&record, &items, queue_limit, now))
        .await?
        .job_id();
    tx.execute(
        "UPDATE jobs SET retried_as = $2 WHERE id = $1",
        &[&job, &id],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(RetryOutcome::Created(id, record.batch_type))
}

/// The job's stored failure fragments, in index order.
async fn failed_fragments(c: &impl GenericClient, job: JobId) -> Result<Vec<String>, StoreError> {
    let rows = c
        .query(
            "SELECT failed FROM job_results WHERE job_id = $1 ORDER BY first_index",
            &[&job],
        )
        .await
        .map_err(pg)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The job's item segments still kept, in index order.
async fn kept_segments(
    c: &impl GenericClient,
    job: JobId,
) -> Result<Vec<(u32, String)>, StoreError> {
    let rows = c
        .query(
            "SELECT first_index, items FROM job_items WHERE job_id = $1 ORDER BY first_index",
            &[&job],
        )
        .await
        .map_err(pg)?;
    Ok(rows.iter().map(|r| (count(r.get(0)), r.get(1))).collect())
}

pub async fn failed_items(
    c: &mut Client,
    tenant: TenantId,
    job: JobId,
    range: Range<u32>,
) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
    // One snapshot: the entries and the texts agree.
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
    let (from, to) = (index(range.start), index(range.end));
    // The results of the chunks reaching into the range (rows written before
    // chunks kept their item count say 0 and are always read).
    let fragments: Vec<String> = tx
        .query(
            "SELECT failed FROM job_results WHERE job_id = $1 AND first_index < $3 \
             AND (items = 0 OR first_index + items > $2) AND failed <> '' ORDER BY first_index",
            &[&job, &from, &to],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let wanted = retry::failed_items(
        fragments.iter().map(String::as_str),
        Vec::new(),
        range.clone(),
    )?;
    if wanted.is_empty() {
        return Ok(Some((record, wanted)));
    }
    let segments = tx
        .query(
            "SELECT first_index, items FROM job_items WHERE job_id = $1 AND first_index < $3 \
             AND first_index + $4 > $2 ORDER BY first_index",
            &[&job, &from, &to, &index(SEGMENT_ITEMS as u32)],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|r| (count(r.get(0)), r.get(1)))
        .collect();
    tx.commit().await.map_err(pg)?;
    let items = retry::failed_items(fragments.iter().map(String::as_str), segments, range)?;
    Ok(Some((record, items)))
}

/// An item index as PostgreSQL's `INTEGER` (indexes past it match nothing).
fn index(i: u32) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}
