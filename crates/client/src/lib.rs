//! The client side of loyalbatch: a typed HTTP client of the Batch API and the bulk import pipeline. It talks only HTTP, so it works against any server of this API.
#![forbid(unsafe_code)]

pub mod api;
mod check;
mod chunks;
mod collect;
pub mod commands;
mod csv_rows;
mod failed_rows;
pub mod import;
pub mod input;
mod progress;
pub mod state;
mod submit;

pub use api::{Api, ApiError, Connection, RetryPolicy};
pub use chunks::MIN_CHUNK_BYTES;
pub use import::{Ended, ImportOptions, Summary};
