//! A job's failed items read for a download, one range of item indexes at a
//! time: however large the job, a download holds one range's entries and
//! texts, and one of its tenant's places for downloads while it lasts.

use crate::Error;
use crate::gate::Place;
use std::sync::Arc;
use store::{FailedItem, JobRecord, JobStore, SEGMENT_ITEMS};

/// Item indexes read at once: one stored segment of texts.
const RANGE: u32 = SEGMENT_ITEMS as u32;

/// The failed items of one job, in index order, as the caller reads them.
pub struct FailedItems {
    store: Arc<dyn JobStore>,
    job: JobRecord,
    /// The first index not read yet.
    next: u32,
    _place: Place,
}

impl FailedItems {
    pub(crate) fn new(store: Arc<dyn JobStore>, job: JobRecord, place: Place) -> FailedItems {
        FailedItems {
            store,
            job,
            next: 0,
            _place: place,
        }
    }

    /// The job as it was when the download began.
    pub fn job(&self) -> &JobRecord {
        &self.job
    }

    /// The next failed items (never an empty batch), `None` after the last.
    /// Each batch is read in one snapshot; a job still running shows the
    /// failures committed when its range is read.
    pub async fn next(&mut self) -> Result<Option<Vec<FailedItem>>, Error> {
        while self.next < self.job.item_count {
            let from = self.next;
            let to = from.saturating_add(RANGE).min(self.job.item_count);
            self.next = to;
            let Some((_, items)) = self
                .store
                .failed_items(self.job.tenant_id, self.job.id, from..to)
                .await?
            else {
                // Removed while it was read (its retention ended).
                return Err(Error::job_not_found(self.job.id));
            };
            if !items.is_empty() {
                return Ok(Some(items));
            }
        }
        Ok(None)
    }
}
