//! Retrying a job's failed items (`POST /batch/{jobId}/retry`): which items, and
//! when there is nothing to retry. The SQL stays in the backends.

use crate::segments::slice_segments;
use crate::types::*;
use domain::outcome::join_fragments;
use serde::Deserialize;
use wire::JobState;

/// What a retry came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// A new job of the failed items (of the same type as the job).
    Created(JobId, wire::BatchType),
    /// The job was retried before: that job.
    Existing(JobId),
    NotFound,
    /// Queued or running: its failures are not final yet.
    NotFinished(JobState),
    /// No item failed.
    NothingFailed,
    /// The failed items' texts are not kept (the job ended before they were).
    ItemsGone,
}

/// The answer before any item is read: unknown, unfinished, retried already, or nothing failed.
pub fn early_answer(job: Option<&JobRecord>, retried_as: Option<JobId>) -> Option<RetryOutcome> {
    let Some(job) = job else {
        return Some(RetryOutcome::NotFound);
    };
    if let Some(id) = retried_as {
        return Some(RetryOutcome::Existing(id));
    }
    if !job.state.is_final() {
        return Some(RetryOutcome::NotFinished(job.state));
    }
    (job.error_count == 0).then_some(RetryOutcome::NothingFailed)
}

#[derive(Deserialize)]
struct Indexed {
    index: u32,
}

/// The indexes of the failed items, from the job's stored failure fragments.
pub fn failed_indexes<'a>(
    fragments: impl Iterator<Item = &'a str>,
) -> Result<Vec<u32>, StoreError> {
    let text = join_fragments(fragments);
    let entries: Vec<Indexed> = serde_json::from_str(&text).map_err(StoreError::other)?;
    let mut indexes: Vec<u32> = entries.into_iter().map(|e| e.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    Ok(indexes)
}

/// The texts of the items at `indexes` (ascending) from the job's stored
/// segments (in index order); `None` when any of them is not kept.
pub fn pick_items(
    segments: Vec<(u32, String)>,
    indexes: &[u32],
) -> Result<Option<Vec<String>>, StoreError> {
    let (Some(&first), Some(&last)) = (indexes.first(), indexes.last()) else {
        return Ok(Some(Vec::new()));
    };
    let span = last.saturating_sub(first).saturating_add(1);
    let all = slice_segments(segments, first, span).map_err(StoreError::other)?;
    let mut wanted = indexes.iter().peekable();
    let mut out = Vec::with_capacity(indexes.len());
    for (index, text) in all {
        if wanted.peek() == Some(&&index) {
            out.push(text);
            wanted.next();
        }
    }
    Ok((out.len() == indexes.len()).then_some(out))
}

/// A failed item: its failure entry and its original text (`None` when that
/// is no longer kept).
#[derive(Debug, Clone, PartialEq)]
pub struct FailedItem {
    pub entry: serde_json::Value,
    pub item: Option<String>,
}

/// The failed entries with an index in `range`, from the job's stored failure
/// fragments in index order (fragments may reach beyond the range), each with
/// its item's text from the kept segments.
pub fn failed_items<'a>(
    fragments: impl Iterator<Item = &'a str>,
    segments: Vec<(u32, String)>,
    range: std::ops::Range<u32>,
) -> Result<Vec<FailedItem>, StoreError> {
    let text = join_fragments(fragments);
    let mut entries: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(StoreError::other)?;
    let index = |e: &serde_json::Value| e["index"].as_u64().and_then(|i| u32::try_from(i).ok());
    entries.retain(|e| index(e).is_some_and(|i| range.contains(&i)));
    let indexes: Vec<u32> = entries.iter().filter_map(index).collect();
    let mut texts = std::collections::HashMap::new();
    if let (Some(first), Some(last)) = (indexes.iter().min(), indexes.iter().max())
        && !segments.is_empty()
    {
        let span = last.saturating_sub(*first).saturating_add(1);
        // Segments no longer kept (or cut short) leave their items without a text.
        for (i, text) in slice_segments(segments, *first, span).unwrap_or_default() {
            if indexes.binary_search(&i).is_ok() {
                texts.insert(i, text);
            }
        }
    }
    Ok(entries
        .into_iter()
        .map(|entry| {
            let item = index(&entry).and_then(|i| texts.remove(&i));
            FailedItem { entry, item }
        })
        .collect())
}

/// The new job of the failed items: same type and tenant, no idempotency key.
pub fn retry_job(
    job: &JobRecord,
    items: &[String],
    queue_limit: u64,
    now: time::OffsetDateTime,
) -> NewJob {
    NewJob {
        tenant_id: job.tenant_id,
        batch_type: job.batch_type,
        item_count: u32::try_from(items.len()).unwrap_or(u32::MAX),
        segments: crate::segment_items(items.iter().map(String::as_str)),
        idempotency: None,
        queue_limit,
        now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_indexes_come_from_the_fragments() {
        let fragments = [
            r#"{"index":3,"code":3000,"error":"x","message":"x"}"#,
            "",
            r#"{"index":1,"code":3003,"error":"y","message":"y"},{"index":7,"code":9004,"error":"z","message":"z"}"#,
        ];
        assert_eq!(
            failed_indexes(fragments.into_iter()).unwrap(),
            vec![1, 3, 7]
        );
    }

    #[test]
    fn the_failed_items_are_picked_from_the_segments_or_none_when_gone() {
        let texts: Vec<String> = (0..250).map(|i| format!("{{\"n\":{i}}}")).collect();
        let segs: Vec<(u32, String)> = crate::segment_items(texts.iter().map(String::as_str))
            .into_iter()
            .map(|s| (s.first_index, s.json))
            .collect();
        let picked = pick_items(segs.clone(), &[0, 99, 100, 249])
            .unwrap()
            .unwrap();
        assert_eq!(
            picked,
            vec!["{\"n\":0}", "{\"n\":99}", "{\"n\":100}", "{\"n\":249}"]
        );
        assert_eq!(pick_items(segs, &[5, 300]).unwrap(), None);
        assert_eq!(pick_items(Vec::new(), &[1]).unwrap(), None);
    }

    #[test]
    fn failed_items_carry_their_texts_or_none_when_gone() {
        let texts: Vec<String> = (0..250).map(|i| format!("{{\"n\":{i}}}")).collect();
        let segs: Vec<(u32, String)> = crate::segment_items(texts.iter().map(String::as_str))
            .into_iter()
            .map(|s| (s.first_index, s.json))
            .collect();
        let fragments = [r#"{"index":3,"code":3000}"#, r#"{"index":120,"code":3003}"#];
        let items = failed_items(fragments.into_iter(), segs.clone(), 0..250).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].entry["code"], 3000);
        assert_eq!(items[0].item.as_deref(), Some("{\"n\":3}"));
        assert_eq!(items[1].item.as_deref(), Some("{\"n\":120}"));
        let second = failed_items(fragments.into_iter(), segs, 100..200).unwrap();
        assert_eq!(second.len(), 1, "only the range's entries");
        assert_eq!(second[0].item.as_deref(), Some("{\"n\":120}"));
        let gone = failed_items(fragments.into_iter(), Vec::new(), 0..250).unwrap();
        assert_eq!((gone[0].item.clone(), gone[1].item.clone()), (None, None));
        assert!(
            failed_items(["", ""].into_iter(), Vec::new(), 0..250)
                .unwrap()
                .is_empty()
        );
    }
}
