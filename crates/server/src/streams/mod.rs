//! Jobs' progress as Server-Sent Events: one stream per client (`progress`),
//! all of a node's streams fed by one reader of their jobs' rows (`job_watch`).

pub mod job_watch;
mod progress;

pub use job_watch::JobWatch;
pub use progress::{MAX_STREAM, StreamsEnd, events, stream};
