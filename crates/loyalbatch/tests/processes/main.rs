//! Process tests: real `loyalbatch serve` processes, killed with SIGKILL, several on one PostgreSQL; one test binary.

mod node;

mod backups;
mod console_browser;
mod contract;
mod crash_ledger;
mod descriptors;
mod disk_full;
mod metrics;
mod multinode;
mod process;
mod process_hostile;
mod sdk;
mod webhooks;
