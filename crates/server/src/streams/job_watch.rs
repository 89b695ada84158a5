//! One reader of job rows for all of a node's event streams. Every [`POLL`] it
//! reads the jobs that open streams follow — in one query per [`PER_READ`] jobs,
//! however many streams follow each — and hands every stream its job's latest
//! row. A thousand open streams cost the database what one costs; the reader
//! runs only while some stream is open.
//!
//! Rows come from the database, not from this node's engine, so a stream follows
//! its job whichever node processes it.

use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use store::{JobId, JobRecord, StoreError, TenantId};
use tokio::sync::watch;

/// How often the followed jobs are read.
pub const POLL: Duration = Duration::from_millis(100);

/// Jobs read by one query (a node following more reads them in several).
const PER_READ: usize = 1000;

/// Reads failing in a row (about 5 s) after which the streams end: their
/// clients reconnect (or read the job's status) rather than wait in silence.
const GIVE_UP_AFTER: u32 = 50;

/// A job's latest row as the streams see it; `None` once it is gone (purged).
pub type Latest = watch::Receiver<Option<JobRecord>>;

type Key = (TenantId, JobId);

/// How the followed jobs are read (the application layer's `rows`; a fake in unit tests).
type Read =
    Arc<dyn Fn(Vec<Key>) -> BoxFuture<'static, Result<Vec<JobRecord>, StoreError>> + Send + Sync>;

fn from_jobs(jobs: app::Jobs) -> Read {
    Arc::new(move |keys: Vec<Key>| {
        let jobs = jobs.clone();
        Box::pin(async move { jobs.rows(&keys).await })
    })
}

#[derive(Clone)]
pub struct JobWatch(Arc<Inner>);

struct Inner {
    read: Read,
    /// A task reads every [`POLL`] (off only in tests, which call [`JobWatch::read_all`]).
    reader: bool,
    state: Mutex<State>,
    /// Queries issued so far (for tests: they count reads, not time).
    reads: AtomicU64,
}

#[derive(Default)]
struct State {
    jobs: HashMap<Key, watch::Sender<Option<JobRecord>>>,
    /// The reading task is running (it ends when no job is followed).
    running: bool,
    /// Rounds of reads that failed in a row.
    failures: u32,
}

/// Held by the reading task: should it panic, its streams end (their clients
/// reconnect) and the next stream starts a new reader.
struct Reader(JobWatch);

impl Drop for Reader {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.state();
            state.jobs.clear();
            state.running = false;
        }
    }
}

impl JobWatch {
    pub fn new(jobs: app::Jobs) -> JobWatch {
        JobWatch::reading(from_jobs(jobs), true)
    }

    /// A watch whose jobs are read only when [`JobWatch::read_all`] is called (tests).
    pub fn read_on_demand(jobs: app::Jobs) -> JobWatch {
        JobWatch::reading(from_jobs(jobs), false)
    }

    fn reading(read: Read, reader: bool) -> JobWatch {
        JobWatch(Arc::new(Inner {
            read,
            reader,
            state: Mutex::default(),
            reads: AtomicU64::new(0),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows `job` (as its caller just read it) until the receiver is dropped.
    pub fn follow(&self, job: &JobRecord) -> Latest {
        let key = (job.tenant_id, job.id);
        let mut state = self.state();
        let latest = match state.jobs.get(&key) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, latest) = watch::channel(Some(job.clone()));
                state.jobs.insert(key, sender);
                latest
            }
        };
        if self.0.reader && !state.running {
            state.running = true;
            let reader = Reader(self.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(POLL).await;
                    if !reader.0.read_all().await {
                        break;
                    }
                }
            });
        }
        latest
    }

    /// Reads every followed job once and passes on the rows that changed;
    /// `false` (and the reading task ends) when no job is followed any more.
    /// A failed read leaves the streams with their last row until the next
    /// one; after [`GIVE_UP_AFTER`] failed rounds in a row they end.
    pub async fn read_all(&self) -> bool {
        let keys: Vec<Key> = {
            let mut state = self.state();
            state.jobs.retain(|_, sender| sender.receiver_count() > 0);
            if state.jobs.is_empty() {
                state.running = false;
                return false;
            }
            state.jobs.keys().copied().collect()
        };
        let mut failed = None;
        for part in keys.chunks(PER_READ) {
            self.0.reads.fetch_add(1, Ordering::Relaxed);
            let mut found: HashMap<Key, JobRecord> = match (self.0.read)(part.to_vec()).await {
                Ok(found) => found
                    .into_iter()
                    .map(|j| ((j.tenant_id, j.id), j))
                    .collect(),
                Err(e) => {
                    failed = Some(e);
                    continue;
                }
            };
            let state = self.state();
            for key in part {
                if let Some(sender) = state.jobs.get(key) {
                    let latest = found.remove(key);
                    sender.send_if_modified(|current| {
                        let changed = *current != latest;
                        if changed {
                            *current = latest;
                        }
                        changed
                    });
                }
            }
        }
        let mut state = self.state();
        match failed {
            None if state.failures > 0 => {
                tracing::info!(
                    rounds = state.failures,
                    "event streams read their jobs again"
                );
                state.failures = 0;
            }
            None => {}
            Some(e) => {
                state.failures += 1;
                // Logged when it starts and when the streams are ended, not ten times a second.
                if state.failures == 1 {
                    tracing::warn!(error = %e, "reading the jobs that event streams follow failed; retrying");
                }
                if state.failures >= GIVE_UP_AFTER {
                    tracing::warn!(error = %e, streams_of = state.jobs.len(), "reading the followed jobs kept failing: their event streams end");
                    state.jobs.clear();
                    state.failures = 0;
                }
            }
        }
        true
    }

    /// Queries issued so far.
    pub fn reads(&self) -> u64 {
        self.0.reads.load(Ordering::Relaxed)
    }

    /// Jobs followed now (including ones whose last stream just closed).
    pub fn followed(&self) -> usize {
        self.state().jobs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use wire::{BatchType, JobState};

    fn job(processed: u32) -> JobRecord {
        JobRecord {
            id: 7,
            tenant_id: 1,
            batch_type: BatchType::Customers,
            state: JobState::Running,
            item_count: 10,
            processed,
            finished_count: processed,
            error_count: 0,
            error: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            started_at: None,
            finished_at: None,
            expires_at: None,
        }
    }

    /// A source whose reads answer `answer(n)` for the n-th call (from 0).
    fn source(
        answer: impl Fn(u32) -> Result<Vec<JobRecord>, StoreError> + Send + Sync + 'static,
    ) -> Read {
        let calls = Arc::new(AtomicU32::new(0));
        let answer = Arc::new(answer);
        Arc::new(move |_keys| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            Box::pin(async move { answer(n) })
        })
    }

    fn down() -> StoreError {
        StoreError::other(std::io::Error::other("the database is down"))
    }

    #[tokio::test]
    async fn streams_keep_their_row_through_failed_reads_and_end_when_they_persist() {
        // Fails, except the read numbered GIVE_UP_AFTER - 1, which succeeds.
        let watch = JobWatch::reading(
            source(|n| {
                if n == GIVE_UP_AFTER - 1 {
                    Ok(vec![job(3)])
                } else {
                    Err(down())
                }
            }),
            false,
        );
        let mut latest = watch.follow(&job(2));
        for _ in 0..GIVE_UP_AFTER - 1 {
            assert!(watch.read_all().await);
            assert!(
                !latest.has_changed().unwrap(),
                "a failed read changes nothing"
            );
        }
        // The success resets the count and is passed on.
        assert!(watch.read_all().await);
        assert_eq!(latest.borrow_and_update().as_ref().unwrap().processed, 3);
        for _ in 0..GIVE_UP_AFTER - 1 {
            assert!(watch.read_all().await);
        }
        assert!(
            latest.has_changed().is_ok(),
            "still open after 49 failures in a row"
        );
        assert!(watch.read_all().await);
        assert!(latest.has_changed().is_err(), "ended after 50");
        assert!(latest.changed().await.is_err());
        assert!(!watch.read_all().await, "nothing followed: the reader ends");
    }

    #[tokio::test]
    async fn a_panicking_reader_ends_its_streams_and_the_next_stream_starts_another() {
        let watch = JobWatch::reading(
            source(|n| {
                assert!(n > 0, "the first read panics");
                Ok(vec![job(5)])
            }),
            true,
        );
        let mut first = watch.follow(&job(1));
        let ended = tokio::time::timeout(Duration::from_secs(10), first.changed()).await;
        assert!(ended.expect("ended in time").is_err());
        assert_eq!(watch.followed(), 0);
        // A new stream gets a new reader, which reads.
        let mut second = watch.follow(&job(1));
        let read = tokio::time::timeout(Duration::from_secs(10), second.changed()).await;
        assert!(read.expect("read in time").is_ok());
        assert_eq!(second.borrow().as_ref().unwrap().processed, 5);
    }
}
