//! Pure domain rules: items are parsed into typed values, applied to the state a chunk loaded, and turned into effects and per-item outcomes. No I/O here.
#![forbid(unsafe_code)]
// Points and money are never computed with operators that can overflow or panic:
// checked or saturating operations only, with the bounds of `limits`.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

// Bottom: values and limits; then the state every rule shares; then the rules.
pub mod fields;
pub mod ids;
pub mod limits;
pub mod outcome;
pub mod settings;

pub mod movement;
pub mod state;

pub mod chunk;
pub mod customers;
pub mod events;
pub mod ledger;
pub mod webhooks;

pub use chunk::{ChunkItems, Parsed};
pub use ids::CustomerId;
pub use outcome::{ItemFailure, Outcome, Success};
pub use state::{ChunkEffects, ChunkState, CustomerRecord, CustomerWrite, NewEvent};
pub use wire::{BatchType, ErrorCode};
