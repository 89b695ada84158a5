//! A job row as every reader shows it, converted once: the status body (API,
//! v3, the final stream event, the webhook event), the progress event (the
//! stream and the console's script), and what is left to process.

use crate::types::JobRecord;
use wire::{JobProgress, JobStatus, ResponseField};

impl JobRecord {
    /// Items submitted but not processed yet.
    pub fn unprocessed(&self) -> u32 {
        self.item_count.saturating_sub(self.processed)
    }

    /// The job's status as the API answers it, with `response` as given.
    pub fn status(self, response: ResponseField) -> JobStatus {
        JobStatus {
            job_id: self.id,
            operation: self.batch_type.operation().to_owned(),
            batch_type: self.batch_type,
            status: self.state,
            error_count: self.error_count,
            total_count: self.processed,
            finished_count: self.finished_count,
            item_count: self.item_count,
            unprocessed_count: self.unprocessed(),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            expires_at: self.expires_at,
            error: self.error,
            response,
        }
    }

    /// Its counts now: a `progress` event, and what the console's script reads.
    pub fn progress(&self) -> JobProgress {
        JobProgress {
            job_id: self.id,
            status: self.state,
            item_count: self.item_count,
            total_count: self.processed,
            finished_count: self.finished_count,
            error_count: self.error_count,
            unprocessed_count: self.unprocessed(),
        }
    }
}
