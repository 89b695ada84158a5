//! Online backups and restores of the database file.
//!
//! A backup is `VACUUM INTO` on a connection of its own: one read transaction,
//! so the copy is the database as of one commit, taken beside the writer without
//! stopping it (WAL readers never block the writer). It is written under a
//! hidden `.NAME.partial` name, checked (`integrity_check`, row counts), synced,
//! and only then renamed to its name: a file with a backup's name is complete.
//!
//! Every process that opens the store holds a shared lock on `PATH-lock`; a
//! restore takes it exclusively, so it never replaces a database that a server
//! (or an admin command) is using.

use crate::sql_err;
use rusqlite::{Connection, OpenFlags};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::{BackupContents, StoreError};

/// The lock file beside a database: held shared while a store has it open.
pub(crate) struct DatabaseLock {
    _file: File,
}

impl DatabaseLock {
    /// Held by every open store: many may share the database.
    pub(crate) fn shared(db: &Path) -> Result<DatabaseLock, StoreError> {
        let file = lock_file(db)?;
        file.lock_shared().map_err(StoreError::other)?;
        Ok(DatabaseLock { _file: file })
    }

    /// Held by a restore: nobody else may have the database open.
    fn exclusive(db: &Path) -> Result<DatabaseLock, StoreError> {
        let file = lock_file(db)?;
        match file.try_lock() {
            Ok(()) => Ok(DatabaseLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Conflict(format!(
                "{} is in use (a server or another loyalbatch command has it open); stop it first",
                db.display()
            ))),
            Err(TryLockError::Error(e)) => Err(StoreError::other(e)),
        }
    }
}

fn lock_file(db: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(sibling(db, "", "-lock"))
        .map_err(StoreError::other)
}

/// `dir/PREFIXname SUFFIX` beside `path`.
fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!("{prefix}{name}{suffix}"))
}

/// The hidden name a backup to `to` is written under until it is complete.
pub fn partial_name(to: &Path) -> PathBuf {
    sibling(to, ".", ".partial")
}

/// Writes a consistent copy of the database at `db` to `to` (see the module).
pub(crate) fn backup(db: &Path, to: &Path) -> Result<BackupContents, StoreError> {
    if to.exists() {
        return Err(StoreError::Conflict(format!(
            "{} already exists; a backup never overwrites a file",
            to.display()
        )));
    }
    let partial = partial_name(to);
    remove_if_present(&partial)?;
    let written = (|| {
        let conn = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(sql_err)?;
        let target = partial
            .to_str()
            .ok_or_else(|| StoreError::Conflict("the backup path is not UTF-8".into()))?;
        conn.execute("VACUUM INTO ?1", [target]).map_err(sql_err)?;
        drop(conn);
        let contents = verify(&partial)?;
        File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::other)?;
        std::fs::rename(&partial, to).map_err(StoreError::other)?;
        sync_dir(to)?;
        Ok(contents)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Checks that `file` is a whole, uncorrupted loyalbatch database and counts what it holds.
pub fn verify(file: &Path) -> Result<BackupContents, StoreError> {
    let bytes = std::fs::metadata(file).map_err(StoreError::other)?.len();
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    let not_ours = |why: String| {
        StoreError::Conflict(format!(
            "{} is not a loyalbatch database backup: {why}",
            file.display()
        ))
    };
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| not_ours(e.to_string()))?;
    if check != "ok" {
        return Err(not_ours(format!("integrity check: {check}")));
    }
    let count = |sql: &str| -> Result<i64, StoreError> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| not_ours(e.to_string()))
    };
    let schema_version = count("SELECT max(version) FROM refinery_schema_history")?;
    let newest = crate::embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0);
    if schema_version > newest {
        return Err(StoreError::Conflict(format!(
            "{} was written by a newer loyalbatch (schema V{schema_version}; this one knows V{newest})",
            file.display()
        )));
    }
    Ok(BackupContents {
        bytes,
        schema_version,
        tenants: count("SELECT count(*) FROM tenants")?,
        customers: count("SELECT count(*) FROM customers")?,
        movements: count("SELECT count(*) FROM movements")?,
        jobs: count("SELECT count(*) FROM jobs")?,
        unfinished_jobs: count("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")?,
    })
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub contents: BackupContents,
    /// Where the database it replaced was moved (whole, its WAL folded in).
    pub replaced: Option<PathBuf>,
}

/// Replaces the database at `db` with the backup `from`, unless the database is
/// in use. The backup is checked first; the replaced database is kept beside it
/// as `NAME.replaced-SECONDS`. Jobs running at the snapshot are given back (no
/// lease), so a server started on the result resumes them from their cursors at
/// once.
pub fn restore(from: &Path, db: &Path) -> Result<Restored, StoreError> {
    let contents = verify(from)?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(StoreError::other)?;
    }
    let _lock = DatabaseLock::exclusive(db)?;
    let incoming = sibling(db, ".", ".restoring");
    remove_if_present(&incoming)?;
    let prepared = (|| {
        std::fs::copy(from, &incoming).map_err(StoreError::other)?;
        let conn = Connection::open(&incoming).map_err(sql_err)?;
        conn.execute(
            "UPDATE jobs SET lease_expires_at = 0 WHERE status = 'running'",
            [],
        )
        .map_err(sql_err)?;
        conn.close().map_err(|(_, e)| sql_err(e))?;
        File::open(&incoming)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::other)
    })();
    if let Err(e) = prepared {
        let _ = std::fs::remove_file(&incoming);
        return Err(e);
    }
    let replaced = if db.exists() {
        // Fold the old database's WAL into its file, so the file moved aside is
        // whole and no stale WAL is left to meet the restored one.
        let conn = Connection::open(db).map_err(sql_err)?;
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(sql_err)?;
        conn.close().map_err(|(_, e)| sql_err(e))?;
        if busy != 0 {
            let _ = std::fs::remove_file(&incoming);
            return Err(StoreError::Conflict(format!(
                "{} is in use (its WAL could not be checkpointed); stop what has it open first",
                db.display()
            )));
        }
        let seconds = time::OffsetDateTime::now_utc().unix_timestamp();
        let aside = sibling(db, "", &format!(".replaced-{seconds}"));
        std::fs::rename(db, &aside).map_err(StoreError::other)?;
        for suffix in ["-wal", "-shm"] {
            remove_if_present(&sibling(db, "", suffix))?;
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&incoming, db).map_err(StoreError::other)?;
    sync_dir(db)?;
    Ok(Restored { contents, replaced })
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::other(e)),
        _ => Ok(()),
    }
}

/// Makes a rename in the directory of `path` durable.
fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::other)
}

#[async_trait::async_trait]
impl store::BackupStore for crate::SqliteStore {
    async fn backup(&self, to: &Path) -> Result<BackupContents, StoreError> {
        let (db, to) = (self.inner.path.clone(), to.to_path_buf());
        tokio::task::spawn_blocking(move || backup(&db, &to))
            .await
            .map_err(StoreError::other)?
    }

    fn backups_offered(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
