//! The operator console under `/console`: server-rendered pages for one tenant
//! at a time, behind a signed session cookie; every form carries a CSRF token,
//! every page a Content-Security-Policy allowing only the console's own script
//! and stylesheet.

mod pages;
pub mod session;

use crate::AppState;
use crate::keys;
use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::outcome::join_fragments;
use serde::Deserialize;
use serde_json::Value;
use session::Session;
use store::{JobFilter, JobRecord, RetryOutcome, StopOutcome, TenantAuth};
use time::OffsetDateTime;
use wire::{BatchType, JobState};

/// What the console's pages may load: their own script and stylesheet, nothing else.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// Jobs per page of the jobs list; items per page of a job's results.
const JOBS_PER_PAGE: u32 = 25;
const ITEMS_PER_PAGE: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/jobs") }))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/jobs", get(jobs))
        .route("/console/jobs/{id}", get(job))
        .route("/console/jobs/{id}/progress", get(progress))
        .route("/console/jobs/{id}/events", get(events))
        .route("/console/jobs/{id}/stop", post(stop))
        .route("/console/jobs/{id}/retry", post(retry))
        .route("/console/jobs/{id}/failed.csv", get(failed_csv))
        .route("/console/jobs/{id}/failed.ndjson", get(failed_ndjson))
        .route("/console/customers", get(customer_search))
        .route("/console/customers/{id}", get(customer))
        .route("/console/settings", get(settings_page).post(save_settings))
        .route(
            "/console/static/console.css",
            get(|| asset(STYLE, "text/css")),
        )
        .route(
            "/console/static/console.js",
            get(|| asset(SCRIPT, "text/javascript")),
        )
        .layer(axum::middleware::map_response(secure_headers))
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
pub struct SignIn;

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        Redirect::to("/console/login").into_response()
    }
}

/// What a tenant's sessions are signed with: its stored secret hash (so a new
/// secret ends them), mixed with the server's console key when one is set (so
/// reading the database is not enough to forge a session).
fn session_key(app: &AppState, tenant: &TenantAuth) -> String {
    match &app.settings.console_key {
        Some(key) => session::mix(key, &tenant.secret_hash),
        None => tenant.secret_hash.clone(),
    }
}

fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let value = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| session::cookie(c, session::COOKIE))
            .and_then(session::claimed);
        let Some(claimed) = value else {
            return Err(SignIn.into_response());
        };
        let tenant = match app.store.tenant_by_apikey(&claimed.apikey).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(SignIn.into_response()),
            Err(e) => return Err(crate::ApiError::from(e).into_response()),
        };
        match session::verify(&claimed, &session_key(app, &tenant), now_secs()) {
            Some(session) => Ok(Operator { tenant, session }),
            None => Err(SignIn.into_response()),
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
struct LoginForm {
    #[serde(default)]
    apikey: String,
    #[serde(default)]
    secretkey: String,
    #[serde(default)]
    csrf: String,
}

async fn login_page(State(app): State<AppState>) -> Response {
    let token = hex::encode(rand::random::<[u8; 16]>());
    let cookie = session::set_cookie(
        session::LOGIN_COOKIE,
        &token,
        3600,
        app.settings.console_secure_cookies,
    );
    let mut resp = html(StatusCode::OK, pages::login(&token, None));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn login(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| session::cookie(c, session::LOGIN_COOKIE))
        .unwrap_or_default();
    if expected.is_empty() || expected != form.csrf {
        return forged();
    }
    let tenant = match app.store.tenant_by_apikey(form.apikey.trim()).await {
        Ok(t) => t,
        Err(e) => return internal(&e),
    };
    // The same work whether or not the apikey exists: the answer's time tells nothing.
    let matches = keys::secret_matches(
        &form.secretkey,
        tenant.as_ref().map_or("", |t| t.secret_hash.as_str()),
    );
    let Some(tenant) = tenant.filter(|_| matches) else {
        // Wrong keys: an error, and nothing set.
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login(&form.csrf, Some("Wrong apikey or secretkey.")),
        );
    };
    let value = session::issue(
        form.apikey.trim(),
        &session_key(&app, &tenant),
        now_secs(),
        rand::random(),
    );
    let secure = app.settings.console_secure_cookies;
    let mut resp = Redirect::to("/console/jobs").into_response();
    let h = resp.headers_mut();
    for c in [
        session::set_cookie(session::COOKIE, &value, session::LIFETIME_SECS, secure),
        session::set_cookie(session::LOGIN_COOKIE, "", 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(app): State<AppState>, op: Operator, Form(form): Form<CsrfForm>) -> Response {
    if !op.session.csrf_matches(&form.csrf) {
        return forged();
    }
    let mut resp = Redirect::to("/console/login").into_response();
    let c = session::set_cookie(session::COOKIE, "", 0, app.settings.console_secure_cookies);
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize, Default)]
struct JobsQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    batch_type: Option<String>,
    after: Option<i64>,
}

async fn jobs(State(app): State<AppState>, op: Operator, Query(q): Query<JobsQuery>) -> Response {
    let state = q.status.as_deref().and_then(JobState::parse);
    let batch_type = q.batch_type.as_deref().and_then(BatchType::parse);
    let filter = JobFilter {
        state,
        batch_type,
        before: q.after,
        limit: JOBS_PER_PAGE + 1,
    };
    let mut list = match app.store.list_jobs(op.tenant.id, &filter).await {
        Ok(l) => l,
        Err(e) => return internal(&e),
    };
    let next = (list.len() > JOBS_PER_PAGE as usize).then(|| {
        list.truncate(JOBS_PER_PAGE as usize);
        list.last().map(|j| j.id)
    });
    let now = OffsetDateTime::now_utc();
    let minutes = per_minute(&app, op.tenant.id, now).await;
    let per_minute = match minutes {
        Ok(m) => m,
        Err(e) => return internal(&e),
    };
    let view = pages::JobsView {
        per_minute: &per_minute,
        tenant: &op.tenant.name,
        csrf: op.session.csrf(),
        jobs: &list,
        status: state,
        batch_type,
        next: next.flatten(),
        now: OffsetDateTime::now_utc(),
    };
    html(StatusCode::OK, pages::jobs(&view))
}

/// Items processed in each of the last 60 minutes (oldest first), from the
/// chunks the tenant's jobs committed.
async fn per_minute(
    app: &AppState,
    tenant: store::TenantId,
    now: OffsetDateTime,
) -> Result<Vec<u64>, store::StoreError> {
    let minute = 60_000i64;
    let this_minute = store::to_millis(now) / minute * minute;
    let first = this_minute - 59 * minute;
    let rows = app
        .store
        .throughput(tenant, store::from_millis(first))
        .await?;
    let mut out = vec![0u64; 60];
    for (start, items) in rows {
        if let Ok(i) = usize::try_from((start - first) / minute)
            && let Some(slot) = out.get_mut(i)
        {
            *slot = slot.saturating_add(items);
        }
    }
    Ok(out)
}

/// The tenant's job `key`, or the response to give instead (404 for another tenant's).
async fn own_job(app: &AppState, op: &Operator, key: &str) -> Result<JobRecord, Response> {
    let Some(id) = key.parse::<i64>().ok().filter(|i| *i > 0) else {
        return Err(not_found());
    };
    match app.store.job(op.tenant.id, id).await {
        Ok(Some(j)) => Ok(j),
        Ok(None) => Err(not_found()),
        Err(e) => Err(internal(&e)),
    }
}

/// The job a form acts on: its CSRF token checked first, then the job the tenant's.
async fn acted_on(
    app: &AppState,
    op: &Operator,
    key: &str,
    form: &CsrfForm,
) -> Result<JobRecord, Response> {
    if !op.session.csrf_matches(&form.csrf) {
        return Err(forged());
    }
    own_job(app, op, key).await
}

/// A job's result entries of one kind (`successful` or `failed`), in index order.
async fn entries(
    app: &AppState,
    op: &Operator,
    job: i64,
    failed: bool,
) -> Result<Vec<Value>, Response> {
    let (_, chunks) = match app.store.job_with_results(op.tenant.id, job).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(internal(&e)),
    };
    let text = join_fragments(chunks.iter().map(|c| {
        if failed {
            c.failed.as_str()
        } else {
            c.successful.as_str()
        }
    }));
    serde_json::from_str(&text).map_err(|e| internal(&e))
}

#[derive(Deserialize, Default)]
struct JobQuery {
    q: Option<String>,
    #[serde(default)]
    failed_page: usize,
    #[serde(default)]
    ok_page: usize,
    notice: Option<String>,
}

/// Whether a failure entry matches a search: its code, or a key containing the text.
fn matches(entry: &Value, q: &str) -> bool {
    let q = q.trim();
    if q.is_empty() {
        return true;
    }
    if entry["code"].as_u64().is_some_and(|c| c.to_string() == q) {
        return true;
    }
    ["customerId", "transactionId", "orderId"]
        .iter()
        .filter_map(|k| entry[*k].as_str())
        .any(|v| v.contains(q))
}

async fn job(
    State(app): State<AppState>,
    op: Operator,
    Path(key): Path<String>,
    Query(q): Query<JobQuery>,
) -> Response {
    let record = match own_job(&app, &op, &key).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let (failed, ok) = match tokio::try_join!(
        entries(&app, &op, record.id, true),
        entries(&app, &op, record.id, false)
    ) {
        Ok(both) => both,
        Err(r) => return r,
    };
    let search = q.q.clone().unwrap_or_default();
    let matching: Vec<&Value> = failed.iter().filter(|e| matches(e, &search)).collect();
    // A page beyond the last shows the last.
    let last = |n: usize| n.div_ceil(ITEMS_PER_PAGE).saturating_sub(1);
    let failed_page = q.failed_page.min(last(matching.len()));
    let ok_page = q.ok_page.min(last(ok.len()));
    let page = |list: &[&Value], n: usize| -> Vec<Value> {
        list.iter()
            .skip(n.saturating_mul(ITEMS_PER_PAGE))
            .take(ITEMS_PER_PAGE)
            .map(|v| (*v).clone())
            .collect()
    };
    let ok_refs: Vec<&Value> = ok.iter().collect();
    let view = pages::JobView {
        tenant: &op.tenant.name,
        csrf: op.session.csrf(),
        job: &record,
        now: OffsetDateTime::now_utc(),
        search: &search,
        failures: page(&matching, failed_page),
        failures_total: matching.len(),
        failed_page,
        successes: page(&ok_refs, ok_page),
        successes_total: ok.len(),
        ok_page,
        per_page: ITEMS_PER_PAGE,
        notice: q.notice.as_deref().and_then(pages::notice),
    };
    html(StatusCode::OK, pages::job(&view))
}

/// A job's counts as JSON, for the pages' script (polled while it runs).
async fn progress(State(app): State<AppState>, op: Operator, Path(key): Path<String>) -> Response {
    match own_job(&app, &op, &key).await {
        Ok(j) => axum::Json(pages::progress_json(&j, OffsetDateTime::now_utc())).into_response(),
        Err(r) => r,
    }
}

/// The job's progress as Server-Sent Events (the API's stream, for this session).
async fn events(
    State(app): State<AppState>,
    op: Operator,
    Path(key): Path<String>,
    headers: HeaderMap,
    end: Option<axum::Extension<crate::handlers::progress::StreamsEnd>>,
) -> Response {
    match crate::handlers::progress::stream(app, op.tenant.id, &key, &headers, end).await {
        Ok(sse) => sse.into_response(),
        Err(_) => not_found(),
    }
}

async fn stop(
    State(app): State<AppState>,
    op: Operator,
    Path(key): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let record = match acted_on(&app, &op, &key, &form).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let notice = match app
        .store
        .stop_job(
            op.tenant.id,
            record.id,
            OffsetDateTime::now_utc(),
            app.settings.retention,
        )
        .await
    {
        Ok(StopOutcome::Stopped(_)) => "stopped",
        Ok(StopOutcome::AlreadyFinished(_)) => "already-finished",
        Ok(StopOutcome::NotFound) => return not_found(),
        Err(e) => return internal(&e),
    };
    to_job(record.id, notice)
}

async fn retry(
    State(app): State<AppState>,
    op: Operator,
    Path(key): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let record = match acted_on(&app, &op, &key, &form).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let outcome = app
        .store
        .retry_failed(
            op.tenant.id,
            record.id,
            app.settings.queue_limit,
            OffsetDateTime::now_utc(),
        )
        .await;
    let (job, notice) = match outcome {
        Ok(RetryOutcome::Created(new)) => {
            app.waker.job_created();
            engine::metrics::job_created(op.tenant.id, record.batch_type);
            (new, "retried")
        }
        Ok(RetryOutcome::Existing(new)) => (new, "retried"),
        Ok(RetryOutcome::NotFound) => return not_found(),
        Ok(RetryOutcome::NotFinished(_)) => (record.id, "not-finished"),
        Ok(RetryOutcome::NothingFailed) => (record.id, "nothing-failed"),
        Ok(RetryOutcome::ItemsGone) => (record.id, "items-gone"),
        Err(store::StoreError::QueueFull { .. }) => (record.id, "queue-full"),
        Err(e) => return internal(&e),
    };
    to_job(job, notice)
}

/// To a job's page, with a notice.
fn to_job(job: i64, notice: &str) -> Response {
    Redirect::to(&format!("/console/jobs/{job}?notice={notice}")).into_response()
}

/// The failed items with their original texts: (entry, item JSON) in index order;
/// the item is `null` when its text is no longer kept.
async fn failed_items(
    app: &AppState,
    op: &Operator,
    key: &str,
) -> Result<(JobRecord, Vec<(Value, Value)>), Response> {
    let record = own_job(app, op, key).await?;
    let failed = entries(app, op, record.id, true).await?;
    let kept = app
        .store
        .load_items(record.id, 0, record.item_count)
        .await
        .map_err(|e| internal(&e))?;
    let texts: std::collections::HashMap<u32, String> = kept.into_iter().collect();
    let rows = failed
        .into_iter()
        .map(|e| {
            let item = e["index"]
                .as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .and_then(|i| texts.get(&i))
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null);
            (e, item)
        })
        .collect();
    Ok((record, rows))
}

/// A text cell a spreadsheet will not run as a formula (`'` before `= + - @`,
/// a tab or a carriage return at its start).
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn download(name: String, content_type: &'static str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

async fn failed_csv(
    State(app): State<AppState>,
    op: Operator,
    Path(key): Path<String>,
) -> Response {
    let (record, rows) = match failed_items(&app, &op, &key).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut write = || -> Result<(), csv::Error> {
        out.write_record(["index", "customerId", "code", "error", "item"])?;
        for (e, item) in &rows {
            out.write_record([
                e["index"].to_string(),
                spreadsheet_safe(e["customerId"].as_str().unwrap_or_default()),
                e["code"].to_string(),
                spreadsheet_safe(e["message"].as_str().unwrap_or_default()),
                item.to_string(),
            ])?;
        }
        out.flush()?;
        Ok(())
    };
    if let Err(e) = write() {
        return internal(&e);
    }
    let body = match out.into_inner() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return internal(&e),
    };
    download(
        format!("job-{}-failed.csv", record.id),
        "text/csv; charset=utf-8",
        body,
    )
}

async fn failed_ndjson(
    State(app): State<AppState>,
    op: Operator,
    Path(key): Path<String>,
) -> Response {
    let (record, rows) = match failed_items(&app, &op, &key).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut body = String::new();
    for (e, item) in rows {
        let line = serde_json::json!({
            "index": e["index"],
            "code": e["code"],
            "error": e["message"],
            "item": item,
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    download(
        format!("job-{}-failed.ndjson", record.id),
        "application/x-ndjson",
        body,
    )
}

#[derive(Deserialize, Default)]
struct CustomerQuery {
    q: Option<String>,
    before: Option<i64>,
}

async fn customer_search(Query(q): Query<CustomerQuery>, op: Operator) -> Response {
    match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => {
            Redirect::to(&format!("/console/customers/{}", pages::url_encode(id))).into_response()
        }
        None => html(
            StatusCode::OK,
            pages::customer_search(&op.tenant.name, op.session.csrf(), "", false),
        ),
    }
}

async fn customer(
    State(app): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<CustomerQuery>,
) -> Response {
    let (view, settings) = match tokio::try_join!(
        app.store.customer(op.tenant.id, &id),
        app.store.program_settings(op.tenant.id)
    ) {
        Ok(found) => found,
        Err(e) => return internal(&e),
    };
    let Some(view) = view else {
        return html(
            StatusCode::NOT_FOUND,
            pages::customer_search(&op.tenant.name, op.session.csrf(), &id, true),
        );
    };
    let now = store::to_millis(OffsetDateTime::now_utc());
    let balance = domain::ledger::post::balance_view(&view.record.ledger.balance(now), &settings);
    let filter = store::MovementFilter {
        customer_id: Some(id.clone()),
        after: q.before,
        limit: (ITEMS_PER_PAGE as u32).saturating_add(1),
        newest_first: true,
        ..store::MovementFilter::default()
    };
    let mut rows = match app.store.list_movements(op.tenant.id, &filter).await {
        Ok(r) => r,
        Err(e) => return internal(&e),
    };
    let next = (rows.len() > ITEMS_PER_PAGE).then(|| {
        rows.truncate(ITEMS_PER_PAGE);
        rows.last().map(|m| m.id)
    });
    let movements: Vec<wire::TransactionView> = rows
        .into_iter()
        .map(crate::handlers::listing::view)
        .collect();
    let mut profile = view.record.profile.clone();
    for own in ["customerId", "gameballId", "createdAt", "updatedAt"] {
        profile.remove(own);
    }
    let page = pages::CustomerPage {
        tenant: &op.tenant.name,
        csrf: op.session.csrf(),
        customer_id: &id,
        gameball_id: view.record.gameball_id,
        profile: &profile,
        balance: &balance,
        movements: &movements,
        next: next.flatten(),
    };
    html(StatusCode::OK, pages::customer(&page))
}

#[derive(Deserialize, Default)]
struct SettingsQuery {
    saved: Option<String>,
}

async fn settings_page(
    State(app): State<AppState>,
    op: Operator,
    Query(q): Query<SettingsQuery>,
) -> Response {
    match app.store.program_settings(op.tenant.id).await {
        Ok(s) => html(
            StatusCode::OK,
            pages::settings(
                &op.tenant.name,
                op.session.csrf(),
                &pages::SettingsForm::of(&s),
                None,
                q.saved.is_some(),
            ),
        ),
        Err(e) => internal(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reward_wallet_factor: String,
    #[serde(default)]
    amount_reward_threshold: String,
    #[serde(default)]
    redemption_factor: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    points_name: String,
    #[serde(default)]
    return_window_days: String,
    #[serde(default)]
    points_expiry_days: String,
    #[serde(default)]
    hold_expiry_minutes: String,
    high_security: Option<String>,
    #[serde(default)]
    event_rewards: String,
}

impl SettingsFields {
    fn form(&self) -> pages::SettingsForm {
        pages::SettingsForm {
            reward_wallet_factor: self.reward_wallet_factor.clone(),
            amount_reward_threshold: self.amount_reward_threshold.clone(),
            redemption_factor: self.redemption_factor.clone(),
            currency: self.currency.clone(),
            points_name: self.points_name.clone(),
            return_window_days: self.return_window_days.clone(),
            points_expiry_days: self.points_expiry_days.clone(),
            hold_expiry_minutes: self.hold_expiry_minutes.clone(),
            high_security: self.high_security.is_some(),
            event_rewards: self.event_rewards.clone(),
        }
    }

    /// The settings the form describes; the message names the setting at fault.
    fn settings(&self) -> Result<domain::settings::ProgramSettings, String> {
        use rust_decimal::Decimal;
        use std::str::FromStr;
        let decimal = |name: &str, v: &str| {
            Decimal::from_str_exact(v.trim()).map_err(|_| format!("{name}: not a number"))
        };
        let whole = |name: &str, v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("{name}: not a whole number"))
        };
        let mut event_rewards = std::collections::BTreeMap::new();
        for line in self
            .event_rewards
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (name, points) = line
                .rsplit_once('=')
                .ok_or_else(|| format!("eventRewards: '{line}' is not EVENT=POINTS"))?;
            let points = i64::from_str(points.trim()).map_err(|_| {
                format!("eventRewards.{}: not a whole number of points", name.trim())
            })?;
            event_rewards.insert(name.trim().to_owned(), points);
        }
        let s = domain::settings::ProgramSettings {
            reward_wallet_factor: decimal("rewardWalletFactor", &self.reward_wallet_factor)?,
            amount_reward_threshold: decimal(
                "amountRewardThreshold",
                &self.amount_reward_threshold,
            )?,
            redemption_factor: decimal("redemptionFactor", &self.redemption_factor)?,
            currency: self.currency.trim().to_owned(),
            points_name: self.points_name.trim().to_owned(),
            return_window_days: whole("returnWindowDays", &self.return_window_days)?,
            points_expiry_days: match self.points_expiry_days.trim() {
                "" => None,
                d => Some(whole("pointsExpiryDays", d)?),
            },
            hold_expiry_minutes: whole("holdExpiryMinutes", &self.hold_expiry_minutes)?,
            high_security: self.high_security.is_some(),
            event_rewards,
        };
        s.validate()?;
        Ok(s)
    }
}

async fn save_settings(
    State(app): State<AppState>,
    op: Operator,
    Form(f): Form<SettingsFields>,
) -> Response {
    if !op.session.csrf_matches(&f.csrf) {
        return forged();
    }
    match f.settings() {
        Ok(s) => match app.store.set_tenant_settings(&op.tenant.name, s).await {
            Ok(()) => Redirect::to("/console/settings?saved=1").into_response(),
            Err(e) => internal(&e),
        },
        Err(message) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::settings(
                &op.tenant.name,
                op.session.csrf(),
                &f.form(),
                Some(&message),
                false,
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_cells_never_start_a_formula() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("cust-1"), "cust-1");
        assert_eq!(spreadsheet_safe(""), "");
    }

    #[test]
    fn a_search_matches_a_code_or_part_of_a_key() {
        let e = serde_json::json!({"index": 3, "customerId": "cust-42", "transactionId": "tx-9", "code": 9004});
        for q in ["", " ", "9004", "cust", "42", "tx-9"] {
            assert!(matches(&e, q), "{q}");
        }
        for q in ["900", "3000", "nobody"] {
            assert!(!matches(&e, q), "{q}");
        }
    }
}
