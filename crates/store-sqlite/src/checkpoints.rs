//! The WAL's upkeep and the disk's room: a thread copies the WAL back into the
//! database file, gives its space back when the writer is idle, and keeps it
//! from growing into the free space under a steady load; `free_bytes` tells a
//! node whose writes failed for want of space when there is room again.

use crate::{Inner, open_connection, sql_err};
use std::path::Path;
use std::time::Duration;
use store::StoreError;

/// How often the background checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Free bytes on the database's filesystem after which a node whose writes
/// failed for want of space is ready again (`/ready`): room for a few chunks
/// and their WAL. Jobs resume on their own as soon as a chunk fits.
pub const ROOM_TO_RESUME: u64 = 8 << 20;

/// The WAL is cut once it is larger than this, or than a quarter of the room
/// it and the free space of its filesystem leave (never below 1 MiB).
const WAL_BOUND: u64 = 64 << 20;

/// How long a cut of the WAL waits for the readers still on it (writers wait too).
const WAL_CUT_WAIT: Duration = Duration::from_millis(200);

fn wal_too_big(wal: &Path, db: &Path) -> bool {
    let size = std::fs::metadata(wal).map_or(0, |m| m.len());
    let room = free_bytes(db).map_or(u64::MAX, |free| free.saturating_add(size));
    size > (room / 4).clamp(1 << 20, WAL_BOUND)
}

/// Bytes an unprivileged process may still write on the filesystem of `path`.
pub(crate) fn free_bytes(path: &Path) -> Option<u64> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fs = rustix::fs::statvfs(dir).ok()?;
    Some(fs.f_bavail.saturating_mul(fs.f_frsize))
}

/// Runs passive checkpoints (they never block the writer or readers) until the
/// store is dropped. Once the writer has been idle for a tick with every frame
/// copied back, a `TRUNCATE` checkpoint empties the WAL file, so a burst's WAL
/// does not keep its disk space; it gives up at once (no busy wait) if the
/// writer or a reader is active.
pub(crate) fn spawn_checkpointer(
    path: &Path,
    inner: std::sync::Weak<Inner>,
) -> Result<(), StoreError> {
    let conn = open_connection(path, false)?;
    conn.busy_timeout(Duration::ZERO).map_err(sql_err)?;
    let wal = path.with_file_name(format!(
        "{}-wal",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    let db = path.to_path_buf();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut last_frames = 0;
            let mut failing = false;
            while inner.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                });
                let passed = passive.is_ok();
                match passive {
                    Ok((frames, copied))
                        if frames > 0 && frames == copied && frames == last_frames =>
                    {
                        // Idle since the last tick and all copied: give the file back.
                        match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                            r.get::<_, i64>(0)
                        }) {
                            Ok(0) => last_frames = 0,
                            Ok(_) => {}
                            Err(e) => tracing::debug!(error = %e, "WAL truncation deferred"),
                        }
                    }
                    Ok((frames, copied)) if frames == copied && wal_too_big(&wal, &db) => {
                        // Under a steady load readers keep the WAL from
                        // restarting, and it grows: once it is all copied
                        // back and past its bound, wait briefly for the readers
                        // on it and cut it (a WAL that filled the disk would
                        // leave no room to copy it back).
                        last_frames = frames;
                        let _ = conn.busy_timeout(WAL_CUT_WAIT);
                        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                            r.get::<_, i64>(0)
                        }) {
                            tracing::debug!(error = %e, "WAL truncation deferred");
                        }
                        let _ = conn.busy_timeout(Duration::ZERO);
                    }
                    Ok((frames, _)) => last_frames = frames,
                    // Said once when it starts failing (a full disk fails every tick), and once when it passes again.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "WAL checkpoint failed; retrying every tick");
                    }
                    Err(_) => {}
                }
                if failing && passed {
                    failing = false;
                    tracing::info!("WAL checkpoints pass again");
                }
            }
        })
        .map_err(StoreError::other)?;
    Ok(())
}
