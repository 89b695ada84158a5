//! The jobs list (with the last hour's throughput), a job's page (counts,
//! progress, failures searchable by key or code, successes), its progress for
//! the page's script, its event stream, and Stop and Retry.

use crate::{
    CsrfForm, ITEMS_PER_PAGE, Operator, State, failed, forged, html, internal, not_found, pages,
};
use app::{Conflict, JobQuery};
use axum::Form;
use axum::extract::{Path, Query, State as With};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

/// Jobs per page of the jobs list.
const JOBS_PER_PAGE: u32 = 25;

#[derive(Deserialize, Default)]
pub(crate) struct JobsQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    batch_type: Option<String>,
    after: Option<i64>,
}

pub(crate) async fn list(
    With(state): With<State>,
    op: Operator,
    Query(q): Query<JobsQuery>,
) -> Response {
    let query = JobQuery {
        state: q.status.as_deref().and_then(JobState::parse),
        batch_type: q.batch_type.as_deref().and_then(BatchType::parse),
        limit: JOBS_PER_PAGE,
        after: q.after,
    };
    let jobs = state.app.jobs();
    let now = OffsetDateTime::now_utc();
    let (page, per_minute) = match (
        jobs.list(op.tenant.id, query).await,
        jobs.per_minute(op.tenant.id, now).await,
    ) {
        (Ok(page), Ok(per_minute)) => (page, per_minute),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let view = pages::JobsView {
        per_minute: &per_minute,
        tenant: &op.tenant.name,
        csrf: op.session.csrf(),
        jobs: &page.items,
        status: query.state,
        batch_type: query.batch_type,
        next: page.next,
        now,
    };
    html(StatusCode::OK, pages::jobs(&view))
}

#[derive(Deserialize, Default)]
pub(crate) struct JobPageQuery {
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

/// Page `n` of `list` (a page beyond the last shows the last), and its number.
fn page_of(list: &[&Value], n: usize) -> (Vec<Value>, usize) {
    let last = list.len().div_ceil(ITEMS_PER_PAGE).saturating_sub(1);
    let n = n.min(last);
    let items = list
        .iter()
        .skip(n.saturating_mul(ITEMS_PER_PAGE))
        .take(ITEMS_PER_PAGE)
        .map(|v| (*v).clone())
        .collect();
    (items, n)
}

pub(crate) async fn job(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
    Query(q): Query<JobPageQuery>,
) -> Response {
    let results = match state.app.jobs().results(op.tenant.id, &key).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let search = q.q.clone().unwrap_or_default();
    let matching: Vec<&Value> = results
        .failed
        .iter()
        .filter(|e| matches(e, &search))
        .collect();
    let (failures, failed_page) = page_of(&matching, q.failed_page);
    let ok: Vec<&Value> = results.successful.iter().collect();
    let (successes, ok_page) = page_of(&ok, q.ok_page);
    let view = pages::JobView {
        tenant: &op.tenant.name,
        csrf: op.session.csrf(),
        job: &results.job,
        now: OffsetDateTime::now_utc(),
        search: &search,
        failures,
        failures_total: matching.len(),
        failed_page,
        successes,
        successes_total: ok.len(),
        ok_page,
        per_page: ITEMS_PER_PAGE,
        notice: q.notice.as_deref().and_then(pages::notice),
    };
    html(StatusCode::OK, pages::job(&view))
}

/// A job's counts (the shape of the stream's `progress` event), for the pages' script.
pub(crate) async fn progress(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
) -> Response {
    match state.app.jobs().job(op.tenant.id, &key).await {
        Ok(j) => axum::Json(j.progress()).into_response(),
        Err(e) => failed(e),
    }
}

/// The job's progress as Server-Sent Events (the API's stream, for this session).
pub(crate) async fn events(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
    headers: HeaderMap,
    end: Option<axum::Extension<server::streams::StreamsEnd>>,
) -> Response {
    let stream = server::streams::stream(
        &state.app,
        &state.streams,
        op.tenant.id,
        &key,
        &headers,
        end,
    );
    match stream.await {
        Ok(sse) => sse.into_response(),
        Err(e) => failed(e),
    }
}

/// To a job's page, with a notice.
fn to_job(job: i64, notice: &str) -> Response {
    Redirect::to(&format!("/console/jobs/{job}?notice={notice}")).into_response()
}

pub(crate) async fn stop(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !op.session.csrf_matches(&form.csrf) {
        return forged();
    }
    match state.app.jobs().stop(op.tenant.id, &key).await {
        Ok(stopped) => to_job(stopped.job_id, "stopped"),
        Err(app::Error::Conflict {
            why: Conflict::Finished,
            ..
        }) => match app::jobs::job_id(&key) {
            Ok(id) => to_job(id, "already-finished"),
            Err(_) => not_found(),
        },
        Err(e) => failed(e),
    }
}

pub(crate) async fn retry(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !op.session.csrf_matches(&form.csrf) {
        return forged();
    }
    let notice = match state.app.jobs().retry(op.tenant.id, &key).await {
        Ok(new) => return to_job(new, "retried"),
        Err(app::Error::Conflict { why, .. }) => match why {
            Conflict::NotFinished => "not-finished",
            Conflict::NothingFailed => "nothing-failed",
            Conflict::ItemsGone => "items-gone",
            Conflict::Finished | Conflict::Other => {
                return internal(&format!("a retry answered the conflict {why:?}"));
            }
        },
        Err(e) => return failed(e),
    };
    match app::jobs::job_id(&key) {
        Ok(id) => to_job(id, notice),
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_page_beyond_the_last_shows_the_last() {
        let values: Vec<Value> = (0..120).map(|i| serde_json::json!(i)).collect();
        let refs: Vec<&Value> = values.iter().collect();
        let (items, n) = page_of(&refs, 9);
        assert_eq!(
            (n, items.len(), items[0].clone()),
            (2, 20, serde_json::json!(100))
        );
        let (none, n) = page_of(&[], 3);
        assert_eq!((n, none.len()), (0, 0));
    }
}
