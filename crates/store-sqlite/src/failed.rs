//! A job's failed items: retried once as a new job, and read with their
//! original texts (the console's downloads).

use crate::jobs::{create, get};
use crate::sql_err;
use rusqlite::{Connection, TransactionBehavior, params};
use std::ops::Range;
use store::*;
use time::OffsetDateTime;

pub fn retry_failed(
    c: &Connection,
    tenant: TenantId,
    job: JobId,
    queue_limit: u64,
    now: OffsetDateTime,
) -> Result<RetryOutcome, StoreError> {
    let record = get(c, tenant, job)?;
    let retried_as: Option<i64> = match record {
        Some(_) => c
            .query_row("SELECT retried_as FROM jobs WHERE id = ?1", [job], |r| {
                r.get(0)
            })
            .map_err(sql_err)?,
        None => None,
    };
    if let Some(answer) = retry::early_answer(record.as_ref(), retried_as) {
        return Ok(answer);
    }
    let Some(record) = record else {
        return Ok(RetryOutcome::NotFound);
    };
    let fragments = failed_fragments(c, job)?;
    let indexes = retry::failed_indexes(fragments.iter().map(String::as_str))?;
    if indexes.is_empty() {
        return Ok(RetryOutcome::NothingFailed);
    }
    let segments = kept_segments(c, job)?;
    let Some(items) = retry::pick_items(segments, &indexes)? else {
        return Ok(RetryOutcome::ItemsGone);
    };
    let id = create(c, &retry::retry_job(&record, &items, queue_limit, now))?.job_id();
    c.execute(
        "UPDATE jobs SET retried_as = ?2 WHERE id = ?1",
        params![job, id],
    )
    .map_err(sql_err)?;
    Ok(RetryOutcome::Created(id, record.batch_type))
}

/// The job's stored failure fragments, in index order.
fn failed_fragments(c: &Connection, job: JobId) -> Result<Vec<String>, StoreError> {
    c.prepare_cached("SELECT failed FROM job_results WHERE job_id = ?1 ORDER BY first_index")
        .map_err(sql_err)?
        .query_map([job], |r| r.get(0))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)
}

/// The job's item segments still kept, in index order.
fn kept_segments(c: &Connection, job: JobId) -> Result<Vec<(u32, String)>, StoreError> {
    c.prepare_cached(
        "SELECT first_index, items FROM job_items WHERE job_id = ?1 ORDER BY first_index",
    )
    .map_err(sql_err)?
    .query_map([job], |r| Ok((r.get(0)?, r.get(1)?)))
    .map_err(sql_err)?
    .collect::<Result<_, _>>()
    .map_err(sql_err)
}

pub fn failed_items(
    c: &mut Connection,
    tenant: TenantId,
    job: JobId,
    range: Range<u32>,
) -> Result<Option<(JobRecord, Vec<FailedItem>)>, StoreError> {
    // One read transaction: the entries and the texts come from the same snapshot.
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .map_err(sql_err)?;
    let Some(record) = get(&tx, tenant, job)? else {
        return Ok(None);
    };
    // The results of the chunks reaching into the range (rows written before
    // chunks kept their item count say 0 and are always read).
    let fragments: Vec<String> = tx
        .prepare_cached(
            "SELECT failed FROM job_results WHERE job_id = ?1 AND first_index < ?3 \
             AND (items = 0 OR first_index + items > ?2) AND failed <> '' ORDER BY first_index",
        )
        .map_err(sql_err)?
        .query_map(params![job, range.start, range.end], |r| r.get(0))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    let wanted = retry::failed_items(
        fragments.iter().map(String::as_str),
        Vec::new(),
        range.clone(),
    )?;
    if wanted.is_empty() {
        return Ok(Some((record, wanted)));
    }
    let segments: Vec<(u32, String)> = tx
        .prepare_cached(
            "SELECT first_index, items FROM job_items WHERE job_id = ?1 AND first_index < ?3 \
             AND first_index + ?4 > ?2 ORDER BY first_index",
        )
        .map_err(sql_err)?
        .query_map(
            params![job, range.start, range.end, SEGMENT_ITEMS as u32],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    tx.finish().map_err(sql_err)?;
    let items = retry::failed_items(fragments.iter().map(String::as_str), segments, range)?;
    Ok(Some((record, items)))
}
