//! The single writer: one thread owns the write connection and commits whatever is queued as one transaction (group commit).
//!
//! Each operation runs inside a savepoint of its own, so one that fails is rolled
//! back alone; the group's `COMMIT` (one fsync under `synchronous=FULL`) makes all
//! of them durable at once, and only then does any caller get its answer. Callers
//! are served in arrival order: an intake never waits behind a stream of chunks.

use rusqlite::Connection;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use store::StoreError;
use tokio::sync::oneshot;

/// How many queued operations one transaction takes at most.
const MAX_GROUP: usize = 32;

/// Runs after the group's commit with its outcome, to answer the caller.
type Answer = Box<dyn FnOnce(Result<(), Arc<rusqlite::Error>>) + Send>;
/// An operation on the write connection (or the reason there is none), inside its savepoint.
type Operation = Box<dyn FnOnce(Result<&Connection, Arc<rusqlite::Error>>) -> Answer + Send>;

pub struct Writer {
    queue: Sender<Operation>,
}

impl Writer {
    /// Starts the writer thread; it ends when the `Writer` is dropped.
    pub fn start(conn: Connection) -> Result<Writer, StoreError> {
        let (queue, operations) = channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, operations))
            .map_err(StoreError::other)?;
        Ok(Writer { queue })
    }

    /// Runs `f` in the next group and answers once that group is durably committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let operation: Operation = Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => in_savepoint(conn, f),
                Err(e) => Err(StoreError::Other(Box::new(e))),
            };
            Box::new(move |committed| {
                let outcome = match (result, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(e)) => Err(StoreError::Other(Box::new(e))),
                    (Err(e), _) => Err(e),
                };
                let _ = answer.send(outcome);
            })
        });
        self.queue
            .send(operation)
            .map_err(|_| StoreError::Conflict("the SQLite writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Conflict("the SQLite writer has stopped".into()))?
    }
}

fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT operation")
        .map_err(StoreError::other)?;
    // A panic must not leave a half-done operation inside the group's transaction,
    // nor kill the writer thread: it becomes this operation's error and is rolled back.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(StoreError::Conflict("a write operation panicked".into())));
    let end = if result.is_ok() {
        "RELEASE operation"
    } else {
        "ROLLBACK TO operation; RELEASE operation"
    };
    conn.execute_batch(end).map_err(StoreError::other)?;
    result
}

fn run(conn: Connection, operations: Receiver<Operation>) {
    while let Ok(first) = operations.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match operations.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Busy beyond the busy timeout (another process holds the write lock): nothing runs.
            let e = Arc::new(e);
            for operation in group {
                operation(Err(e.clone()))(Err(e.clone()));
            }
            continue;
        }
        let answers: Vec<Answer> = group.into_iter().map(|op| op(Ok(&conn))).collect();
        let committed = conn.execute_batch("COMMIT").map_err(Arc::new);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for answer in answers {
            answer(committed.clone());
        }
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
        let ok = writer.write(|c| insert(c, 1));
        let fails = writer.write(|c| {
            insert(c, 2)?;
            insert(c, 1) // unique violation: the 2 goes too
        });
        let panics = writer.write(|c| -> Result<(), StoreError> {
            insert(c, 3)?;
            panic!("bug in an operation")
        });
        let after = writer.write(|c| insert(c, 4));
        let (ok, fails, panics, after) = tokio::join!(ok, fails, panics, after);
        assert!(ok.is_ok() && after.is_ok());
        assert!(fails.is_err() && panics.is_err());
        let rows: Vec<i64> = writer
            .write(|c| {
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
}
