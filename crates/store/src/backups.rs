//! Backups: the store role that takes a consistent copy of a live database, and
//! what a copy holds (read back from the copy itself, never from the source).

use crate::{Reachable, StoreError};
use async_trait::async_trait;
use std::path::Path;

/// What a backup file holds, counted in the file after its integrity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupContents {
    /// The file's size.
    pub bytes: u64,
    /// The last schema migration applied in it.
    pub schema_version: i64,
    pub tenants: i64,
    pub customers: i64,
    pub movements: i64,
    pub jobs: i64,
    /// Jobs queued or running at the snapshot: they resume from their cursors
    /// on a server started on the restored copy.
    pub unfinished_jobs: i64,
}

/// Online backups of the database a node serves.
#[async_trait]
pub trait BackupStore: Reachable {
    /// Writes a consistent snapshot of the whole database to `to` (which must
    /// not exist) while the store keeps serving, verifies it and says what it
    /// holds. A failure or a crash part-way leaves no file at `to`. A backend
    /// whose backups are the database server's own tools answers
    /// [`StoreError::Unsupported`], naming them.
    async fn backup(&self, to: &Path) -> Result<BackupContents, StoreError>;

    /// `Ok` when [`BackupStore::backup`] is offered; otherwise the
    /// [`StoreError::Unsupported`] it would answer.
    fn backups_offered(&self) -> Result<(), StoreError>;
}
