//! Route handlers: extract → call the store or engine → map to the wire types.

pub mod batch;
pub mod customers;
pub mod health;
pub mod jobs;
