//! The API tests: the real router on port 0 over a fresh database per test, on SQLite and (when configured) PostgreSQL; one test binary.

mod common;

mod access;
mod auth;
mod batches;
mod client_commands;
mod connections;
mod console;
mod customers;
mod hostile;
mod http2;
mod import;
mod jobs;
mod ledger;
mod ledger_batches;
mod ledger_orders;
mod lookalikes;
mod openapi;
mod pool;
mod progress;
mod retry;
mod singles;
mod snapshots;
mod transactions_list;
mod v3;
mod webhooks;
