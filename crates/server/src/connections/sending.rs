//! A response body as the connection sends it: the request stays in flight
//! until the body is sent or dropped; the connection's watchdog sees since
//! when the body has waited for the client to take more (a client that stops
//! reading, or an HTTP/2 peer that never opens its window, cannot hold a
//! response forever); and its bytes not yet taken are counted per connection
//! and per node (new requests are refused past either limit).

use super::activity::Activity;
use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The largest part of a body handed to the connection at once: a large
/// response is taken in parts, each one progress of its own.
const PART: usize = 64 * 1024;

/// Ends a request's in-flight phase when dropped (answered or abandoned).
pub(super) struct InFlight(pub(super) Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its request in flight until it is sent or
/// dropped, reporting each part the connection takes.
pub(super) struct Sending {
    body: Body,
    /// The rest of a data frame larger than a part.
    rest: Bytes,
    id: u64,
    /// Known bytes not yet taken (a body of known size: all of it).
    unsent: usize,
    guard: InFlight,
}

impl Sending {
    pub(super) fn new(body: Body, guard: InFlight) -> Sending {
        let unsent = body
            .size_hint()
            .exact()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let id = guard.0.send_started(unsent);
        Sending {
            body,
            rest: Bytes::new(),
            id,
            unsent,
            guard,
        }
    }

    /// The connection took `bytes`, and will be back for more when it can.
    fn took(&mut self, bytes: usize) {
        let known = bytes.min(self.unsent);
        self.unsent -= known;
        self.guard.0.sent(self.id, known, true);
    }

    fn next_part(&mut self) -> Bytes {
        let part = self.rest.split_to(self.rest.len().min(PART));
        self.took(part.len());
        part
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        self.guard.0.send_ended(self.id, self.unsent);
    }
}

impl http_body::Body for Sending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if !this.rest.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(this.next_part()))));
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    this.rest = data;
                    Poll::Ready(Some(Ok(Frame::data(this.next_part()))))
                }
                Err(frame) => {
                    this.took(0);
                    Poll::Ready(Some(Ok(frame)))
                }
            },
            Poll::Pending => {
                // The server has nothing to send yet: not the client's wait.
                this.guard.0.sent(this.id, 0, false);
                Poll::Pending
            }
            done => done,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.body.size_hint();
        let rest = self.rest.len() as u64;
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(rest));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(rest));
        }
        hint
    }
}
