//! The engine's metrics, recorded through the `metrics` facade (the binary
//! installs the Prometheus recorder; without one they cost nothing). Labels are
//! bounded: batch type (8), final state (3), error code (16) — and the tenant id
//! only when `--metrics-tenant-label` turns it on.

use metrics::{Label, Unit, counter, describe_counter, describe_histogram, histogram};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use store::{ChunkCommitted, TenantId};
use wire::{BatchType, JobState};

static TENANT_LABEL: AtomicBool = AtomicBool::new(false);

/// Gives each of the engine's metrics its help text (call once the recorder is installed).
pub fn describe() {
    describe_counter!(
        "loyalbatch_jobs_created_total",
        "Jobs stored by batch requests (idempotent replays excluded)."
    );
    describe_counter!(
        "loyalbatch_jobs_finished_total",
        "Jobs that reached a final state (completed, failed, stopped)."
    );
    describe_counter!(
        "loyalbatch_items_processed_total",
        "Items whose outcome was committed."
    );
    describe_counter!(
        "loyalbatch_items_failed_total",
        "Items that failed, by Gameball code."
    );
    describe_histogram!(
        "loyalbatch_chunk_commit_duration_seconds",
        Unit::Seconds,
        "Time to apply and durably commit one chunk."
    );
    describe_histogram!(
        "loyalbatch_chunk_items",
        Unit::Count,
        "Items per committed chunk."
    );
    describe_counter!(
        "loyalbatch_chunk_retries_total",
        "Chunk commits retried after an error that may pass."
    );
    describe_counter!(
        "loyalbatch_poison_items_total",
        "Items isolated because they made a chunk fail; each failed alone with 5000."
    );
    describe_counter!(
        "loyalbatch_lease_takeovers_total",
        "Jobs claimed after their previous worker's lease lapsed."
    );
    describe_counter!(
        "loyalbatch_webhook_attempts_total",
        "Webhook delivery attempts, by result: delivered, retry (failed, tried again later), failed (given up)."
    );
    describe_histogram!(
        "loyalbatch_webhook_attempt_duration_seconds",
        Unit::Seconds,
        "Time from sending a webhook delivery to its answer (or failure)."
    );
}

/// Adds a `tenant` label (the tenant's id) to the per-job metrics.
pub fn label_tenants(on: bool) {
    TENANT_LABEL.store(on, Ordering::Relaxed);
}

/// The labels of a job's metrics: its type, and its tenant when enabled.
pub fn job_labels(tenant: TenantId, batch_type: BatchType) -> Vec<Label> {
    let mut labels = vec![Label::new("type", batch_type.as_str())];
    if TENANT_LABEL.load(Ordering::Relaxed) {
        labels.push(Label::new("tenant", tenant.to_string()));
    }
    labels
}

fn with(mut labels: Vec<Label>, key: &'static str, value: impl Into<String>) -> Vec<Label> {
    labels.push(Label::new(key, value.into()));
    labels
}

pub fn job_created(tenant: TenantId, batch_type: BatchType) {
    counter!(
        "loyalbatch_jobs_created_total",
        job_labels(tenant, batch_type)
    )
    .increment(1);
}

pub fn job_finished(tenant: TenantId, batch_type: BatchType, state: JobState) {
    let labels = with(job_labels(tenant, batch_type), "state", state.as_str());
    counter!("loyalbatch_jobs_finished_total", labels).increment(1);
}

/// A committed chunk of `items` items starting at `from`, and how long its commit took.
pub(crate) fn chunk_committed(
    tenant: TenantId,
    batch_type: BatchType,
    items: u32,
    took: Duration,
    committed: &ChunkCommitted,
) {
    let labels = job_labels(tenant, batch_type);
    histogram!("loyalbatch_chunk_commit_duration_seconds", labels.clone()).record(took);
    histogram!("loyalbatch_chunk_items", labels.clone()).record(items);
    counter!("loyalbatch_items_processed_total", labels.clone()).increment(u64::from(items));
    for (code, count) in &committed.failures {
        let labels = with(labels.clone(), "code", code.code().to_string());
        counter!("loyalbatch_items_failed_total", labels).increment(u64::from(*count));
    }
    if let Some(state) = committed.finished {
        job_finished(tenant, batch_type, state);
    }
}

pub(crate) fn chunk_retried(tenant: TenantId, batch_type: BatchType) {
    counter!(
        "loyalbatch_chunk_retries_total",
        job_labels(tenant, batch_type)
    )
    .increment(1);
}

pub(crate) fn poison_item_isolated(tenant: TenantId, batch_type: BatchType) {
    counter!(
        "loyalbatch_poison_items_total",
        job_labels(tenant, batch_type)
    )
    .increment(1);
}

pub(crate) fn lease_taken_over(tenant: TenantId, batch_type: BatchType) {
    counter!(
        "loyalbatch_lease_takeovers_total",
        job_labels(tenant, batch_type)
    )
    .increment(1);
}

pub(crate) fn webhook_attempted(result: &'static str, took: Duration) {
    counter!("loyalbatch_webhook_attempts_total", "result" => result).increment(1);
    histogram!("loyalbatch_webhook_attempt_duration_seconds").record(took.as_secs_f64());
}
