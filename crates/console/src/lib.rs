//! The operator console under `/console`: server-rendered pages for one tenant
//! at a time, behind a signed session cookie; every form carries a CSRF token,
//! every page a Content-Security-Policy allowing only the console's own script
//! and stylesheet. Every action is one call of the application layer.
#![forbid(unsafe_code)]

mod customers;
mod downloads;
mod jobs;
mod login;
mod pages;
pub mod session;
mod settings;

use app::App;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use session::Session;
use std::sync::Arc;
use store::TenantAuth;
use time::OffsetDateTime;

/// What the console's pages may load: their own script and stylesheet, nothing else.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// Items per page of a job's results and of a customer's movements.
const ITEMS_PER_PAGE: usize = 50;

/// The console's own settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The cookies carry `Secure` (served over TLS, or behind a TLS proxy).
    pub secure_cookies: bool,
    /// Mixed into the session signatures (the same on every node).
    pub key: Option<String>,
}

/// What the console's handlers are given.
#[derive(Clone)]
pub struct State {
    app: Arc<App>,
    /// The node's reader of the jobs event streams follow (the API's).
    streams: server::streams::JobWatch,
    settings: Arc<Settings>,
}

impl State {
    pub fn new(server: &server::AppState, settings: Settings) -> State {
        State {
            app: server.app.clone(),
            streams: server.streams.clone(),
            settings: Arc::new(settings),
        }
    }
}

/// The console's pages, to serve beside the API (`server::launch`'s `pages`).
pub fn routes(state: State) -> Router {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/jobs") }))
        .route("/console/login", get(login::page).post(login::login))
        .route("/console/logout", post(login::logout))
        .route("/console/jobs", get(jobs::list))
        .route("/console/jobs/{id}", get(jobs::job))
        .route("/console/jobs/{id}/progress", get(jobs::progress))
        .route("/console/jobs/{id}/events", get(jobs::events))
        .route("/console/jobs/{id}/stop", post(jobs::stop))
        .route("/console/jobs/{id}/retry", post(jobs::retry))
        .route("/console/jobs/{id}/failed.csv", get(downloads::failed_csv))
        .route(
            "/console/jobs/{id}/failed.ndjson",
            get(downloads::failed_ndjson),
        )
        .route("/console/customers", get(customers::search))
        .route("/console/customers/{id}", get(customers::customer))
        .route(
            "/console/settings",
            get(settings::page).post(settings::save),
        )
        .route(
            "/console/static/console.css",
            get(|| asset(STYLE, "text/css")),
        )
        .route(
            "/console/static/console.js",
            get(|| asset(SCRIPT, "text/javascript")),
        )
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(state)
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn secure_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A signed-in operator: the tenant and its session.
pub struct Operator {
    pub tenant: TenantAuth,
    pub session: Session,
}

/// Not signed in: to the login page.
fn sign_in() -> Response {
    Redirect::to("/console/login").into_response()
}

/// What a tenant's sessions are signed with: its stored secret hash (so a new
/// secret ends them), mixed with the server's console key when one is set (so
/// reading the database is not enough to forge a session).
fn session_key(state: &State, tenant: &TenantAuth) -> String {
    match &state.settings.key {
        Some(key) => session::mix(key, &tenant.secret_hash),
        None => tenant.secret_hash.clone(),
    }
}

fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl FromRequestParts<State> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Response> {
        let value = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| session::cookie(c, session::COOKIE))
            .and_then(session::claimed);
        let Some(claimed) = value else {
            return Err(sign_in());
        };
        let tenant = match state.app.tenants().by_apikey(&claimed.apikey).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(sign_in()),
            Err(e) => return Err(failed(e)),
        };
        let Some(session) = session::verify(&claimed, &session_key(state, &tenant), now_secs())
        else {
            return Err(sign_in());
        };
        // A session its logout ended is over on every node.
        match state.app.tenants().session_ended(session.nonce()).await {
            Ok(false) => Ok(Operator { tenant, session }),
            Ok(true) => Err(sign_in()),
            Err(e) => Err(failed(e)),
        }
    }
}

fn html(status: StatusCode, body: maud::Markup) -> Response {
    (status, axum::response::Html(body.into_string())).into_response()
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message("Not found", "There is no such page in this console."),
    )
}

fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console: internal error");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        pages::message(
            "Something went wrong",
            "The server could not answer; see its log.",
        ),
    )
}

/// An action the application layer refused, as a page: unknown things are
/// 404, a full queue or a tenant's share taken 429, a busy database 503 (both
/// with their `Retry-After`), a fault a 500.
fn failed(e: app::Error) -> Response {
    let later = |status: StatusCode, message: &str, retry_after: std::time::Duration| {
        let mut resp = html(status, pages::message("Try again later", message));
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after.as_secs().max(1)),
        );
        resp
    };
    match e {
        e if e.is_not_found() => not_found(),
        app::Error::Busy {
            message,
            retry_after,
        } => later(StatusCode::TOO_MANY_REQUESTS, &message, retry_after),
        app::Error::Unavailable {
            message,
            retry_after,
        } => later(StatusCode::SERVICE_UNAVAILABLE, &message, retry_after),
        app::Error::Internal(cause) => internal(&cause),
        other => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::message("Refused", other.message()),
        ),
    }
}

/// A form whose CSRF token is not the session's: refused, nothing done.
fn forged() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message(
            "Refused",
            "This form was not sent from this console session (CSRF token missing or wrong).",
        ),
    )
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}
