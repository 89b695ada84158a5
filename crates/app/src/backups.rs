//! Backups of the node's database: one on demand (`loyalbatch backup`) and a
//! rotation on a schedule (`serve --backup-dir`), both through [`Backups::take`],
//! so both are counted and timed the same way.

use crate::Error;
use engine::Shutdown;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{BackupContents, BackupStore, StoreError};
use time::OffsetDateTime;
use time::macros::format_description;
use tracing::{error, info, warn};
use wire::ErrorCode;

/// Where scheduled backups go, how often, and how many are kept.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

#[derive(Clone)]
pub struct Backups {
    store: Arc<dyn BackupStore>,
}

/// `loyalbatch-20261203T194500.123Z.db`: names sort in the order they were taken.
const NAME: &[time::format_description::BorrowedFormatItem<'static>] = format_description!(
    "loyalbatch-[year][month][day]T[hour][minute][second].[subsecond digits:3]Z.db"
);

impl Backups {
    pub(crate) fn new(store: Arc<dyn BackupStore>) -> Backups {
        Backups { store }
    }

    /// A consistent copy of the database at `to` (a new file), checked and counted.
    pub async fn take(&self, to: &Path) -> Result<BackupContents, Error> {
        let started = Instant::now();
        let taken = self.store.backup(to).await;
        let outcome = if taken.is_ok() { "ok" } else { "failed" };
        counter!("loyalbatch_backups_total", "outcome" => outcome).increment(1);
        histogram!("loyalbatch_backup_duration_seconds").record(started.elapsed());
        if taken.is_ok() {
            gauge!("loyalbatch_backup_last_success_timestamp_seconds")
                .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
        }
        taken.map_err(|e| match e {
            StoreError::Unsupported(why) | StoreError::Conflict(why) => {
                Error::refused(ErrorCode::InvalidValue, why)
            }
            other => Error::internal(other),
        })
    }

    /// Checks a schedule before the node serves: the directory exists (it is
    /// created) and the backend takes backups. A backup that a crash cut short
    /// (a hidden `.….partial` file) is removed.
    pub async fn prepare(&self, schedule: &Schedule) -> Result<(), Error> {
        std::fs::create_dir_all(&schedule.dir)
            .map_err(|e| Error::invalid(format!("--backup-dir {}: {e}", schedule.dir.display())))?;
        if let Err(StoreError::Unsupported(why)) = self.store.backups_offered() {
            return Err(Error::invalid(format!("--backup-dir: {why}")));
        }
        for name in backup_names(&schedule.dir, true) {
            let stale = schedule.dir.join(name);
            warn!(file = %stale.display(), "removing a backup that was cut short");
            let _ = std::fs::remove_file(stale);
        }
        Ok(())
    }

    /// Takes a backup every `schedule.every` (the first one when the newest in
    /// the directory is that old) and keeps the newest `schedule.keep`, until
    /// `shutdown`. A failed backup is logged and counted; the next is still taken.
    pub async fn run_schedule(self, schedule: Schedule, shutdown: Shutdown) {
        let newest = backup_names(&schedule.dir, false)
            .last()
            .and_then(|n| taken_at(n));
        let mut next = match newest {
            Some(at) => {
                let age = (OffsetDateTime::now_utc() - at).unsigned_abs();
                Instant::now() + schedule.every.saturating_sub(age)
            }
            None => Instant::now(),
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(next.into()) => {}
            }
            next = Instant::now() + schedule.every;
            let now = OffsetDateTime::now_utc();
            let Ok(name) = now.format(NAME) else {
                continue;
            };
            let to = schedule.dir.join(name);
            match self.take(&to).await {
                Ok(c) => {
                    info!(file = %to.display(), bytes = c.bytes, customers = c.customers,
                        movements = c.movements, jobs = c.jobs, "backup taken");
                    rotate(&schedule);
                }
                Err(e) => error!(file = %to.display(), error = %e, "backup failed"),
            }
        }
    }
}

/// Removes the oldest scheduled backups beyond `keep` (never another file).
fn rotate(schedule: &Schedule) {
    let names = backup_names(&schedule.dir, false);
    let surplus = names.len().saturating_sub(schedule.keep);
    for name in &names[..surplus] {
        let old = schedule.dir.join(name);
        match std::fs::remove_file(&old) {
            Ok(()) => info!(file = %old.display(), "old backup removed"),
            Err(e) => warn!(file = %old.display(), error = %e, "cannot remove an old backup"),
        }
    }
}

/// The scheduled backups in `dir`, oldest first (or, with `partial`, the
/// hidden files of ones cut short).
fn backup_names(dir: &Path, partial: bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| match partial {
            false => taken_at(n).is_some(),
            true => n
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".partial"))
                .is_some_and(|n| taken_at(n).is_some()),
        })
        .collect();
    names.sort();
    names
}

fn taken_at(name: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(name, NAME)
        .ok()
        .map(|t| t.assume_utc())
}

/// Gives the backups' metrics their help text (call once the recorder is installed).
pub fn describe() {
    describe_counter!(
        "loyalbatch_backups_total",
        "Backups taken by this process, by outcome (ok, failed)."
    );
    describe_histogram!(
        "loyalbatch_backup_duration_seconds",
        Unit::Seconds,
        "How long a backup took, from its start to the checked file in place."
    );
    describe_gauge!(
        "loyalbatch_backup_last_success_timestamp_seconds",
        Unit::Seconds,
        "When this process last completed a backup (seconds since the epoch)."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_only_ours_are_rotated() {
        let dir = std::env::temp_dir().join(format!("lb-rotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let times = [
            "20261203T010000.000Z",
            "20261203T020000.000Z",
            "20261203T030000.500Z",
        ];
        for t in times {
            std::fs::write(dir.join(format!("loyalbatch-{t}.db")), b"x").unwrap();
        }
        std::fs::write(dir.join("loyalbatch.db"), b"mine").unwrap();
        std::fs::write(dir.join(".loyalbatch-20261203T040000.000Z.db.partial"), b"").unwrap();
        assert_eq!(
            backup_names(&dir, true),
            [".loyalbatch-20261203T040000.000Z.db.partial"]
        );
        rotate(&Schedule {
            dir: dir.clone(),
            every: Duration::from_secs(1),
            keep: 2,
        });
        let kept = backup_names(&dir, false);
        assert_eq!(
            kept,
            [
                "loyalbatch-20261203T020000.000Z.db",
                "loyalbatch-20261203T030000.500Z.db"
            ]
        );
        assert!(dir.join("loyalbatch.db").exists(), "not a backup: kept");
        let name = OffsetDateTime::now_utc().format(NAME).unwrap();
        assert!(taken_at(&name).is_some(), "{name}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
