//! `GET /batch/{jobId}/events`: a job's progress as Server-Sent Events — a
//! `progress` event whenever its counts change (a chunk committed, on this node
//! or any other: the node's [`JobWatch`] reads the rows of all followed jobs
//! every [`POLL`](super::job_watch::POLL)), then one final `completed`, `failed`
//! or `stopped` event, and the stream ends.
//!
//! Each `progress` event's id is the number of items processed, the final
//! event's `final`: a client that reconnects with `Last-Event-ID` gets only
//! what it has not seen.

use super::job_watch::Latest;
use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;
use store::{JobRecord, TenantId};
use wire::ResponseField;

/// The id of the final event.
const FINAL_ID: &str = "final";

/// The longest a stream stays open; its client reconnects with `Last-Event-ID`.
pub const MAX_STREAM: Duration = Duration::from_secs(3600);

/// Cancelled when the server shuts down: open streams end then.
#[derive(Clone)]
pub struct StreamsEnd(pub tokio_util::sync::CancellationToken);

/// What a client has seen, from its `Last-Event-ID`.
fn seen(headers: &HeaderMap) -> Option<u32> {
    let last = headers.get("last-event-id")?.to_str().ok()?;
    if last == FINAL_ID {
        return Some(u32::MAX);
    }
    last.parse().ok()
}

fn progress(job: &JobRecord) -> Event {
    Event::default()
        .event("progress")
        .id(job.processed.to_string())
        .json_data(job.progress())
        .unwrap_or_default()
}

fn finished(job: JobRecord) -> Event {
    let state = job.state;
    Event::default()
        .event(state.as_str())
        .id(FINAL_ID)
        .json_data(job.status(ResponseField::Omitted))
        .unwrap_or_default()
}

struct Watch {
    /// The job as read when the stream opened, then its latest rows.
    first: Option<JobRecord>,
    latest: Latest,
    /// Items processed as of the last event sent (or seen before reconnecting).
    sent: Option<u32>,
    done: bool,
    until: tokio::time::Instant,
    end: Option<tokio_util::sync::CancellationToken>,
    /// The stream's place among its tenant's open ones, given back when it ends.
    _permit: app::Place,
}

impl Watch {
    /// The next event: waits until the job's counts change or it ends.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Watch)> {
        if self.done {
            return None;
        }
        loop {
            let job = match self.first.take() {
                Some(job) => job,
                // Purged: the stream ends; a client reconnects or reads the status.
                None => self.latest.borrow_and_update().clone()?,
            };
            if job.state.is_final() {
                self.done = true;
                if self.sent == Some(u32::MAX) {
                    return None;
                }
                return Some((Ok(finished(job)), self));
            }
            if self.sent.is_none_or(|sent| job.processed > sent) {
                self.sent = Some(job.processed);
                return Some((Ok(progress(&job)), self));
            }
            let end = self.end.clone();
            let ended = async move {
                match end {
                    Some(token) => token.cancelled_owned().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = self.latest.changed() => if changed.is_err() {
                    return None;
                },
                _ = tokio::time::sleep_until(self.until) => return None,
                _ = ended => return None,
            }
        }
    }
}

pub async fn events(
    State(state): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(key): Path<String>,
    headers: HeaderMap,
    end: Option<axum::Extension<StreamsEnd>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, ApiError> {
    Ok(stream(&state.app, &state.streams, tenant.id, &key, &headers, end).await?)
}

/// The event stream of the tenant's job `key` (the API's and the console's).
pub async fn stream(
    app: &app::App,
    streams: &super::JobWatch,
    tenant: TenantId,
    key: &str,
    headers: &HeaderMap,
    end: Option<axum::Extension<StreamsEnd>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, app::Error> {
    // An unknown job is a 404; a tenant at its limit of open streams a 429.
    let (job, permit) = app.jobs().follow(tenant, key).await?;
    let sent = seen(headers);
    let latest = if job.state.is_final() || sent == Some(u32::MAX) {
        // Nothing left to follow: the final event (if unseen) and the end.
        tokio::sync::watch::channel(None).1
    } else {
        let mut latest = streams.follow(&job);
        // The stream looks at the shared row once after its own (whichever is newer counts).
        latest.mark_changed();
        latest
    };
    let watch = Watch {
        latest,
        first: Some(job),
        sent,
        done: false,
        until: tokio::time::Instant::now() + MAX_STREAM,
        end: end.map(|axum::Extension(StreamsEnd(token))| token),
        _permit: permit,
    };
    let stream = futures::stream::unfold(watch, Watch::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
