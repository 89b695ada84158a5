//! Route handlers: extract → call the store or engine → map to the wire types.

pub mod batch;
pub mod configurations;
pub mod customers;
pub mod health;
pub mod jobs;
pub mod transactions;
