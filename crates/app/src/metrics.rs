//! The application layer's own metric: how long a batch request takes from its
//! body read to its job stored durably (the jobs counters are the engine's).

use metrics::{Unit, describe_histogram, histogram};
use std::time::Instant;
use wire::BatchType;

/// Gives the layer's metrics their help text (call once the recorder is installed).
pub fn describe() {
    describe_histogram!(
        "loyalbatch_intake_duration_seconds",
        Unit::Seconds,
        "Batch requests: from the body read to the job stored durably."
    );
}

pub(crate) fn intake(batch_type: BatchType, started: Instant) {
    histogram!("loyalbatch_intake_duration_seconds", "type" => batch_type.as_str())
        .record(started.elapsed());
}
