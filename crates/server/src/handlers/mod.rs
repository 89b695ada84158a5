//! Route handlers: extract → call the application layer → map to the wire types.

pub mod batch;
pub mod configurations;
pub mod customers;
pub mod docs;
pub mod health;
pub mod jobs;
pub mod listing;
pub mod transactions;
pub mod webhooks;
