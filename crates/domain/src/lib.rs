//! Pure domain rules: items are parsed into typed values, applied to the state a chunk loaded, and turned into effects and per-item outcomes. No I/O here.
#![forbid(unsafe_code)]
// Points and money are never computed with operators that can overflow or panic:
// checked or saturating operations only, with the bounds of `limits`.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod chunk;
pub mod customers;
pub mod events;
pub mod fields;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod outcome;
pub mod posting;
pub mod settings;
pub mod transactions;

pub use chunk::{ChunkEffects, ChunkItems, ChunkState, CustomerRecord, CustomerWrite, NewEvent};
pub use ids::CustomerId;
pub use outcome::{ItemFailure, Outcome, Success};
pub use wire::{BatchType, ErrorCode};
