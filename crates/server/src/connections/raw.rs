//! Bytes on the socket outside any HTTP connection: the `408` for a head that
//! did not arrive in time, the answers past the connection limit, and the
//! shared socket that outlives the HTTP connection reading it.

use super::activity::Activity;
use crate::request_id;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use wire::ErrorCode;

/// How long an overflow connection may take to send its request.
const OVERFLOW_TIMEOUT: Duration = Duration::from_secs(2);

/// A `408` in the error envelope, as raw bytes for a socket no request owns.
pub(super) fn timeout_envelope() -> Vec<u8> {
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

pub(super) async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
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

/// A `503` in the error envelope with `Retry-After`: the node is at a limit
/// of its own, not a fault.
pub(super) async fn overloaded(message: &'static str) -> Response {
    request_id::scope_new(async {
        crate::ApiError::new(ErrorCode::Internal, message)
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .retry_after(1)
            .into_response()
    })
    .await
}

/// A connection past the limit: `/health` is answered, anything else gets a
/// 503 envelope with `Retry-After`; then the connection closes.
pub(super) async fn refuse(stream: TcpStream) {
    let io = TokioIo::new(stream);
    let service = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
        let mut response = if req.method() == Method::GET && req.uri().path() == "/health" {
            crate::handlers::health::health().await.into_response()
        } else {
            overloaded("the server is at its connection limit; retry later").await
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
pub(super) struct SharedStream {
    pub(super) stream: Arc<TcpStream>,
    pub(super) activity: Arc<Activity>,
    /// Nothing was read yet (the first bytes tell HTTP/2's preface).
    pub(super) first: bool,
}

impl AsyncRead for SharedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match self.stream.try_read(unfilled) {
                Ok(n) => {
                    if n > 0 {
                        let first = std::mem::take(&mut self.first);
                        self.activity.read(first, &buf.initialize_unfilled()[..n]);
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
            match self.stream.poll_write_ready(cx) {
                Poll::Pending => {
                    // The client takes no more: the watchdog times it.
                    self.activity.write_blocked(true);
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            match self.stream.try_write(buf) {
                Ok(n) => {
                    self.activity.write_blocked(false);
                    return Poll::Ready(Ok(n));
                }
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
