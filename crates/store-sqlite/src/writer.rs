//! The single writer: one thread owns the write connection and commits whatever is queued as one transaction (group commit).
//!
//! In a group of several, each operation runs inside a savepoint of its own, so one
//! that fails is rolled back alone; an operation alone in its group (every chunk
//! of a job) needs none: if it fails, its transaction is rolled back. The group's
//! `COMMIT` (one fsync under `synchronous=FULL`) makes all of them durable at
//! once, and only then does any caller get its answer.
//!
//! Short operations (intake, stop, claims, single calls) and bulk ones (a chunk of
//! a job) are grouped apart, and the two kinds take turns while both wait: an
//! intake waits for at most one chunk, however many workers are busy, and chunks
//! are never starved by a stream of requests.

use rusqlite::Connection;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};
use store::StoreError;
use tokio::sync::oneshot;

/// How many queued operations one transaction takes at most.
const MAX_GROUP: usize = 32;

/// Runs after the group's commit with its outcome, to answer the caller.
type Answer = Box<dyn FnOnce(Result<(), Arc<rusqlite::Error>>) + Send>;
/// An operation on the write connection (or the reason there is none); told whether
/// it is alone in its transaction; answers whether it succeeded.
type Operation =
    Box<dyn FnOnce(Result<&Connection, Arc<rusqlite::Error>>, bool) -> (Answer, bool) + Send>;

/// How long an operation holds the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// A few rows: intake, stop, claims, leases, single calls.
    Short,
    /// A chunk of a job: thousands of rows.
    Bulk,
}

pub struct Writer {
    queue: Sender<(Weight, Operation)>,
    /// A write failed for want of disk space, and no chunk has committed since.
    full: Arc<AtomicBool>,
    /// Operations sent and not yet started (the metrics' queue depth).
    waiting: Arc<AtomicUsize>,
}

impl Writer {
    /// Starts the writer thread; it ends when the `Writer` is dropped.
    pub fn start(conn: Connection) -> Result<Writer, StoreError> {
        let (queue, operations) = channel();
        let full: Arc<AtomicBool> = Arc::default();
        let seen_full = full.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, operations, &seen_full))
            .map_err(StoreError::other)?;
        Ok(Writer {
            queue,
            full,
            waiting: Arc::default(),
        })
    }

    /// Whether a write failed because the disk is full, and no chunk has
    /// committed since.
    pub fn disk_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Forgets a full disk (space was seen freed).
    pub fn room_again(&self) {
        self.full.store(false, Ordering::Relaxed);
    }

    /// Operations queued for the writer and not yet started.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `f` in the next group and answers once that group is durably committed.
    pub async fn write<T, F>(&self, weight: Weight, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let waiting = self.waiting.clone();
        let full = self.full.clone();
        let operation: Operation = Box::new(move |conn, alone| {
            waiting.fetch_sub(1, Ordering::Relaxed);
            let result = match conn {
                Ok(conn) if alone => guarded(conn, f),
                Ok(conn) => in_savepoint(conn, f),
                Err(e) => Err(shared_error(&e)),
            };
            let succeeded = result.is_ok();
            let answer: Answer = Box::new(move |committed| {
                let outcome = match (result, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(e)) => Err(shared_error(&e)),
                    (Err(e), _) => Err(e),
                };
                match &outcome {
                    // A chunk needs room: one committed means there is room again
                    // (a claim or a lease renewal fits where a chunk does not).
                    Ok(_) if weight == Weight::Bulk => full.store(false, Ordering::Relaxed),
                    Err(StoreError::StorageFull) => full.store(true, Ordering::Relaxed),
                    _ => {}
                }
                let _ = answer.send(outcome);
            });
            (answer, succeeded)
        });
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.queue.send((weight, operation)).map_err(|_| {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            StoreError::Conflict("the SQLite writer has stopped".into())
        })?;
        answered
            .await
            .map_err(|_| StoreError::Conflict("the SQLite writer has stopped".into()))?
    }
}

/// Runs `f`, turning a panic into its error: a panic must not kill the writer
/// thread, and what it half did is rolled back like any failure.
fn guarded<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|panic| Err(StoreError::from_panic(&*panic)))
}

/// A failure of the group's `BEGIN` or `COMMIT`, for each operation in it.
fn shared_error(e: &Arc<rusqlite::Error>) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return StoreError::StorageFull;
    }
    StoreError::Other(Box::new(e.clone()))
}

fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT operation")
        .map_err(crate::sql_err)?;
    let result = guarded(conn, f);
    let end = if result.is_ok() {
        "RELEASE operation"
    } else {
        "ROLLBACK TO operation; RELEASE operation"
    };
    conn.execute_batch(end).map_err(crate::sql_err)?;
    result
}

fn run(conn: Connection, operations: Receiver<(Weight, Operation)>, full: &AtomicBool) {
    let mut last_reclaim: Option<Instant> = None;
    let mut short: VecDeque<Operation> = VecDeque::new();
    let mut bulk: VecDeque<Operation> = VecDeque::new();
    let mut last_was_short = false;
    loop {
        // Wait only when nothing is pending; then take everything that arrived.
        if short.is_empty() && bulk.is_empty() {
            match operations.recv() {
                Ok(op) => queue(op, &mut short, &mut bulk),
                Err(_) => return,
            }
        }
        loop {
            match operations.try_recv() {
                Ok(op) => queue(op, &mut short, &mut bulk),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) if short.is_empty() && bulk.is_empty() => return,
                Err(TryRecvError::Disconnected) => break,
            }
        }
        let bulk_turn = !bulk.is_empty() && (short.is_empty() || last_was_short);
        let group: Vec<Operation> = if bulk_turn {
            bulk.pop_front().into_iter().collect()
        } else {
            let take = short.len().min(MAX_GROUP);
            short.drain(..take).collect()
        };
        last_was_short = !bulk_turn;
        commit_group(&conn, group);
        if full.load(Ordering::Relaxed) && last_reclaim.is_none_or(|t| t.elapsed() >= RECLAIM_EVERY)
        {
            last_reclaim = Some(Instant::now());
            reclaim_wal(&conn);
        }
    }
}

/// How often the writer tries to give the WAL's space back while writes fail for want of it.
const RECLAIM_EVERY: Duration = Duration::from_secs(1);

/// A write failed because the disk is full: under a steady load the WAL may
/// have grown into the space (readers kept it from restarting). Once every
/// frame is in the database file, a `TRUNCATE` checkpoint — waiting for the
/// readers still on the WAL — cuts it to nothing, and the next writes fit.
fn reclaim_wal(conn: &Connection) {
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    }) {
        Ok((0, _, _)) => {
            tracing::info!("the disk was full: the WAL was checkpointed and truncated")
        }
        Ok((_, frames, copied)) => {
            tracing::info!(
                frames,
                copied,
                "the disk is full: the WAL could not be truncated yet"
            )
        }
        Err(e) => {
            tracing::debug!(error = %e, "the disk is full: the WAL could not be checkpointed")
        }
    }
}

fn queue(
    (weight, op): (Weight, Operation),
    short: &mut VecDeque<Operation>,
    bulk: &mut VecDeque<Operation>,
) {
    match weight {
        Weight::Short => short.push_back(op),
        Weight::Bulk => bulk.push_back(op),
    }
}

fn commit_group(conn: &Connection, group: Vec<Operation>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Busy beyond the busy timeout (another process holds the write lock): nothing runs.
        let e = Arc::new(e);
        for operation in group {
            operation(Err(e.clone()), false).0(Err(e.clone()));
        }
        return;
    }
    let alone = group.len() == 1;
    let mut failed_alone = false;
    let answers: Vec<Answer> = group
        .into_iter()
        .map(|op| {
            let (answer, succeeded) = op(Ok(conn), alone);
            failed_alone |= alone && !succeeded;
            answer
        })
        .collect();
    let committed = if failed_alone {
        // The one operation failed without a savepoint: undo it whole; its own
        // error is its answer.
        conn.execute_batch("ROLLBACK").map_err(Arc::new)
    } else {
        conn.execute_batch("COMMIT").map_err(Arc::new)
    };
    if committed.is_err() && !failed_alone {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for answer in answers {
        answer(committed.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(conn: &Connection, v: i64) -> Result<(), StoreError> {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
            .map(|_| ())
            .map_err(StoreError::other)
    }

    #[tokio::test]
    async fn a_failing_or_panicking_operation_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER UNIQUE)")
            .unwrap();
        let writer = Writer::start(conn).unwrap();
        let ok = writer.write(Weight::Short, |c| insert(c, 1));
        let fails = writer.write(Weight::Short, |c| {
            insert(c, 2)?;
            insert(c, 1) // unique violation: the 2 goes too
        });
        let panics = writer.write(Weight::Short, |c| -> Result<(), StoreError> {
            insert(c, 3)?;
            panic!("bug in an operation")
        });
        let after = writer.write(Weight::Short, |c| insert(c, 4));
        let (ok, fails, panics, after) = tokio::join!(ok, fails, panics, after);
        assert!(ok.is_ok() && after.is_ok());
        assert!(fails.is_err());
        assert!(matches!(panics, Err(StoreError::Panicked(m)) if m == "bug in an operation"));
        let rows: Vec<i64> = writer
            .write(Weight::Short, |c| {
                let mut st = c
                    .prepare("SELECT v FROM t ORDER BY v")
                    .map_err(StoreError::other)?;
                let rows = st.query_map([], |r| r.get(0)).map_err(StoreError::other)?;
                rows.collect::<Result<_, _>>().map_err(StoreError::other)
            })
            .await
            .unwrap();
        assert_eq!(rows, [1, 4]);
    }

    #[tokio::test]
    async fn an_operation_alone_in_its_group_is_rolled_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER UNIQUE)")
            .unwrap();
        let writer = Writer::start(conn).unwrap();
        writer.write(Weight::Bulk, |c| insert(c, 1)).await.unwrap();
        let failed = writer
            .write(Weight::Bulk, |c| {
                insert(c, 2)?;
                insert(c, 1)
            })
            .await;
        assert!(failed.is_err());
        let panicked = writer
            .write(Weight::Bulk, |c| -> Result<(), StoreError> {
                insert(c, 3)?;
                panic!("bug in an operation")
            })
            .await;
        assert!(panicked.is_err());
        let count: i64 = writer
            .write(Weight::Bulk, |c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(StoreError::other)
            })
            .await
            .unwrap();
        assert_eq!(count, 1, "neither the 2 nor the 3 was kept");
    }
}
