//! The accept loop: a bounded number of connections, each closed when its
//! client is too slow to send a request's head, stays idle too long, or stops
//! taking a response.
//!
//! axum's own `serve` keeps a connection open as long as its client likes, so a
//! few hundred idle or trickling sockets could exhaust the process's file
//! descriptors. Here every connection is in one of three phases, watched by a
//! timer of its own (`activity.rs`):
//! - *idle* (no request in flight, no byte of the next one): closed after the
//!   idle timeout, silently — there is no request to answer;
//! - *reading a head* (bytes arrived, the request not yet complete): closed after
//!   the header timeout with a `408` in the error envelope;
//! - *in flight*: a handler owns the request; reading its body is bounded by the
//!   body timeout where the body is read (`body.rs`), and once its response is
//!   being sent, the client must take it: a response that waits longer than
//!   the send timeout for the client closes the connection (`sending.rs`).
//!
//! Responses' bytes not yet taken are counted per connection and per node;
//! past either limit, new requests get a `503` at once. HTTP/2 (cleartext,
//! prior knowledge) is served only when asked for, with few streams per
//! connection and keep-alive pings.
//!
//! Past `max_connections`, a new connection gets a `503` envelope at once (and
//! `/health` is still answered, so probes see the process alive); past that
//! overflow's own bound, it is closed unanswered.

mod activity;
mod raw;
mod sending;

use activity::{Activity, Expired, NodeUnsent, watchdog};
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use raw::SharedStream;
use sending::{InFlight, Sending};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Limits of the HTTP connections.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Longest wait for a request's head once its first byte arrived.
    pub header_timeout: Duration,
    /// Longest silence on a kept-alive connection between requests.
    pub idle_timeout: Duration,
    /// Longest a response may wait for the client to take more of it (a
    /// client that stops reading); its connection is then closed.
    pub send_timeout: Duration,
    /// Connections served at once; more get a 503.
    pub max_connections: usize,
    /// Connections past the limit still answered (a 503, or `/health`);
    /// beyond them, closed unanswered.
    pub overflow_connections: usize,
    /// Bytes of one connection's responses not yet taken by its client;
    /// past it, the connection's new requests get a 503.
    pub max_unsent_bytes_per_connection: usize,
    /// The same over every connection of the node.
    pub max_unsent_bytes: usize,
    /// Serve HTTP/2 cleartext (prior knowledge) beside HTTP/1.1.
    pub http2: bool,
    /// Streams one HTTP/2 connection may have open at once.
    pub http2_max_streams: u32,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(30),
            max_connections: 1024,
            overflow_connections: 64,
            max_unsent_bytes_per_connection: 8 * 1024 * 1024,
            max_unsent_bytes: 256 * 1024 * 1024,
            http2: false,
            http2_max_streams: 16,
        }
    }
}

/// The address of the peer a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Pause after an accept error (out of file descriptors): the loop must not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// What one HTTP/2 stream may hold written but not yet sent.
const HTTP2_SEND_BUFFER: usize = 128 * 1024;

/// What every connection of the node shares.
struct Shared {
    router: Router,
    settings: ConnectionSettings,
    http: auto::Builder<TokioExecutor>,
    unsent: Arc<NodeUnsent>,
    shutdown: CancellationToken,
}

fn http_builder(settings: &ConnectionSettings) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if !settings.http2 {
        return builder.http1_only();
    }
    builder
        .http2()
        .max_concurrent_streams(settings.http2_max_streams)
        .max_send_buf_size(HTTP2_SEND_BUFFER)
        .keep_alive_interval(activity::HTTP2_KEEP_ALIVE)
        .keep_alive_timeout(activity::HTTP2_KEEP_ALIVE)
        .timer(TokioTimer::new());
    builder
}

/// Serves `router` on `listener` until `shutdown`, then lets the open connections
/// finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ConnectionSettings,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let overflow = Arc::new(Semaphore::new(settings.overflow_connections));
    let shared = Arc::new(Shared {
        router,
        http: http_builder(&settings),
        settings,
        unsent: Arc::default(),
        shutdown: shutdown.clone(),
    });
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
                let shared = shared.clone();
                connections.spawn(async move {
                    serve_connection(stream, peer, &shared).await;
                    drop(slot);
                });
            }
            Err(_) => match overflow.clone().try_acquire_owned() {
                Ok(slot) => {
                    connections.spawn(async move {
                        raw::refuse(stream).await;
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

/// Whether a new request of this connection is refused because responses not
/// yet taken hold too much (its own, or the node's); `/health` never is.
fn over_unsent_limits(
    req: &Request<hyper::body::Incoming>,
    activity: &Activity,
    shared: &Shared,
) -> bool {
    let health = req.method() == Method::GET && req.uri().path() == "/health";
    !health
        && (activity.unsent() >= shared.settings.max_unsent_bytes_per_connection
            || shared.unsent.bytes() >= shared.settings.max_unsent_bytes)
}

async fn serve_connection(stream: TcpStream, peer: std::net::SocketAddr, shared: &Arc<Shared>) {
    let stream = Arc::new(stream);
    let activity = Arc::new(Activity::new(shared.unsent.clone()));
    let io = TokioIo::new(SharedStream {
        stream: stream.clone(),
        activity: activity.clone(),
        first: true,
    });
    let (tracked, node) = (activity.clone(), shared.clone());
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        tracked.request_started();
        // Who is calling, for the credential throttles (a proxy's address behind one).
        req.extensions_mut().insert(ClientAddr(peer.ip()));
        let guard = InFlight(tracked.clone());
        let refused = over_unsent_limits(&req, &tracked, &node);
        let router = node.router.clone();
        async move {
            let response = if refused {
                raw::overloaded("the server holds too many unsent responses; retry later").await
            } else {
                match router.oneshot(req.map(Body::new)).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            };
            // The request stays in flight until its body is sent (a stream may
            // take long): the guard goes with the body.
            Ok::<_, std::convert::Infallible>(
                response.map(|body| Body::new(Sending::new(body, guard))),
            )
        }
    });
    let connection = shared.http.serve_connection(io, service);
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
            expired = watchdog(&activity, &shared.settings) => {
                match expired {
                    // The connection future is dropped first: the socket is ours again.
                    Expired::Head if !activity.is_http2() => break,
                    Expired::Stalled => {
                        tracing::debug!(%peer, "closed a connection whose client stopped taking a response");
                        return;
                    }
                    _ => return,
                }
            }
            _ = shared.shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    let body = raw::timeout_envelope();
    let _ = tokio::time::timeout(Duration::from_secs(1), raw::write_all(&stream, &body)).await;
}
