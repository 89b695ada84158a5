//! What every handler is given: the application layer, the HTTP limits, and
//! the node's reader of the jobs its event streams follow.

use crate::ConnectionSettings;
use crate::streams::JobWatch;
use std::sync::Arc;
use std::time::Duration;

/// The limits of the HTTP door itself (the rules' settings are the app's).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Request body bytes (default 16 MiB).
    pub max_body_bytes: usize,
    /// Longest time to receive a request's body once its head arrived (408 beyond).
    pub body_timeout: Duration,
    /// Request body bytes being read or processed at once, over all requests;
    /// beyond it a request gets a 503 with `Retry-After` (memory stays bounded).
    pub max_inflight_body_bytes: usize,
    pub connections: ConnectionSettings,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 16 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            max_inflight_body_bytes: 256 * 1024 * 1024,
            connections: ConnectionSettings::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<app::App>,
    pub http: Arc<HttpSettings>,
    /// The node's reader of the jobs its event streams follow.
    pub streams: JobWatch,
}

impl AppState {
    pub fn new(app: app::App, http: HttpSettings) -> AppState {
        AppState {
            streams: JobWatch::new(app.jobs().clone()),
            app: Arc::new(app),
            http: Arc::new(http),
        }
    }
}
