//! The accept loop: a bounded number of connections, each closed when its client is too slow to send a request's head or stays idle too long.
//!
//! axum's own `serve` keeps a connection open as long as its client likes, so a
//! few hundred idle or trickling sockets could exhaust the process's file
//! descriptors. Here every connection is in one of three phases, watched by a
//! timer of its own:
//! - *idle* (no request in flight, no byte of the next one): closed after the
//!   idle timeout, silently — there is no request to answer;
//! - *reading a head* (bytes arrived, the request not yet complete): closed after
//!   the header timeout with a `408` in the error envelope;
//! - *in flight*: a handler owns the request; reading its body is bounded by the
//!   body timeout where the body is read (`body.rs`).
//!
//! Past `max_connections`, a new connection gets a `503` envelope at once (and
//! `/health` is still answered, so probes see the process alive); past that
//! overflow's own small bound, it is closed unanswered.

use crate::request_id;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use wire::ErrorCode;

/// Limits of the HTTP connections.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Longest wait for a request's head once its first byte arrived.
    pub header_timeout: Duration,
    /// Longest silence on a kept-alive connection between requests.
    pub idle_timeout: Duration,
    /// Connections served at once; more get a 503.
    pub max_connections: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// The address of the peer a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Connections past the limit that are still answered (503, or `/health`).
const OVERFLOW_CONNECTIONS: usize = 64;
/// How long an overflow connection may take to send its request.
const OVERFLOW_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause after an accept error (out of file descriptors): the loop must not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown`, then lets the open connections
/// finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ConnectionSettings,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let (router, settings, shutdown) =
                    (router.clone(), settings.clone(), shutdown.clone());
                connections.spawn(async move {
                    serve_connection(stream, peer, router, &settings, shutdown).await;
                    drop(slot);
                });
            }
            Err(_) => match overflow.clone().try_acquire_owned() {
                Ok(slot) => {
                    connections.spawn(async move {
                        refuse(stream).await;
                        drop(slot);
                    });
                }
                // Beyond even the overflow: close at once.
                Err(_) => drop(stream),
            },
        }
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

/// What a connection is doing, for its watchdog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    ReadingHead,
    InFlight,
}

/// Shared between a connection's socket wrapper, its service and its watchdog.
struct Activity {
    in_flight: AtomicUsize,
    /// The phase and since when (milliseconds since `epoch`).
    phase: Mutex<Phase>,
    since_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            in_flight: AtomicUsize::new(0),
            phase: Mutex::new(Phase::Idle),
            since_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase;
        let now = self.epoch.elapsed().as_millis() as u64;
        self.since_ms.store(now, Ordering::Relaxed);
    }

    fn current(&self) -> (Phase, Instant) {
        let phase = *self.phase.lock().unwrap_or_else(|p| p.into_inner());
        let since = self.epoch + Duration::from_millis(self.since_ms.load(Ordering::Relaxed));
        (phase, since)
    }

    /// Bytes arrived: an idle connection starts reading a request's head.
    fn read(&self) {
        let idle = *self.phase.lock().unwrap_or_else(|p| p.into_inner()) == Phase::Idle;
        if idle {
            self.set(Phase::ReadingHead);
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.set(Phase::InFlight);
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.set(Phase::Idle);
        }
    }
}

/// Ends a request's in-flight phase when dropped (answered or abandoned).
struct InFlight(Arc<Activity>);

/// A response body that keeps its request in flight until it is sent or dropped.
struct Guarded {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for Guarded {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// Why the watchdog closed a connection.
enum Expired {
    Idle,
    Head,
}

async fn watchdog(activity: &Activity, settings: &ConnectionSettings) -> Expired {
    loop {
        let (phase, since) = activity.current();
        let deadline = match phase {
            Phase::Idle => since + settings.idle_timeout,
            Phase::ReadingHead => since + settings.header_timeout,
            // A handler owns the request: look again later.
            Phase::InFlight => Instant::now() + settings.header_timeout.min(settings.idle_timeout),
        };
        tokio::time::sleep_until(deadline).await;
        if activity.current() == (phase, since) {
            match phase {
                Phase::Idle => return Expired::Idle,
                Phase::ReadingHead => return Expired::Head,
                Phase::InFlight => {}
            }
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    settings: &ConnectionSettings,
    shutdown: CancellationToken,
) {
    let stream = Arc::new(stream);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(SharedStream {
        stream: stream.clone(),
        activity: activity.clone(),
    });
    let tracked = activity.clone();
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        tracked.request_started();
        // Who is calling, for the credential throttles (a proxy's address behind one).
        req.extensions_mut().insert(ClientAddr(peer.ip()));
        let guard = InFlight(tracked.clone());
        let router = router.clone();
        async move {
            // The request stays in flight until its body is sent (a stream may
            // take long): the guard goes with the body.
            let response = router.oneshot(req.map(Body::new)).await;
            response.map(|r| {
                r.map(|body| {
                    Body::new(Guarded {
                        body,
                        _guard: guard,
                    })
                })
            })
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            expired = watchdog(&activity, settings) => {
                if let Expired::Head = expired {
                    // The connection future is dropped first: the socket is ours again.
                    break;
                }
                return;
            }
            _ = shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    let body = timeout_envelope();
    let _ = tokio::time::timeout(Duration::from_secs(1), write_all(&stream, &body)).await;
}

/// A `408` in the error envelope, as raw bytes for a socket no request owns.
fn timeout_envelope() -> Vec<u8> {
    let id = crate::request_id::new_id();
    tracing::debug!(request.id = %id, "a request head was not received in time");
    let body = serde_json::to_vec(&wire::ErrorBody::new(
        ErrorCode::MalformedPayload,
        "request head not received in time; the connection is closed",
        id.clone(),
    ))
    .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {id}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A connection past the limit: `/health` is answered, anything else gets a
/// 503 envelope with `Retry-After`; then the connection closes.
async fn refuse(stream: TcpStream) {
    let io = TokioIo::new(stream);
    let service = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
        let mut response = if req.method() == Method::GET && req.uri().path() == "/health" {
            crate::handlers::health::health().await.into_response()
        } else {
            request_id::scope_new(async {
                crate::ApiError::new(
                    ErrorCode::Internal,
                    "the server is at its connection limit; retry later",
                )
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .retry_after(1)
                .into_response()
            })
            .await
        };
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        Ok::<Response, std::convert::Infallible>(response)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(false);
    let connection = builder.serve_connection(io, service);
    let _ = tokio::time::timeout(OVERFLOW_TIMEOUT, connection).await;
}

/// The socket, shared so that it outlives the HTTP connection that reads it
/// (a timed-out head is answered after that connection is dropped); reads mark
/// the connection's activity.
struct SharedStream {
    stream: Arc<TcpStream>,
    activity: Arc<Activity>,
}

impl AsyncRead for SharedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            match self.stream.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    if n > 0 {
                        self.activity.read();
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for SharedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The socket closes when the last owner drops it.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
