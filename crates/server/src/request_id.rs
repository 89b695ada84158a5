//! Every request gets an id: in the `x-request-id` header and in every error body.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id (empty outside a request).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

pub async fn assign(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(new_id);
    // Every log line of the request carries its id (and the route it asked for).
    let span = tracing::info_span!(
        "http",
        request.id = %id,
        method = %req.method(),
        path = %req.uri().path()
    );
    let mut resp = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    span.in_scope(|| tracing::debug!(status = resp.status().as_u16(), "answered"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// A caller's own id is reused when it is short and plain.
fn is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Runs `f` under a fresh request id (for answers made outside the router).
pub async fn scope_new<T>(f: impl std::future::Future<Output = T>) -> T {
    REQUEST_ID.scope(new_id(), f).await
}

pub(crate) fn new_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}
