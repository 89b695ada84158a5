//! A job's failed items downloaded with their original texts: CSV (for a
//! spreadsheet: no cell can start a formula) and NDJSON.

use crate::{Operator, State, failed};
use app::FailedItems;
use axum::body::Body;
use axum::extract::{Path, State as With};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use store::FailedItem;
use wire::spreadsheet::guard;

/// A download's response: the body is written as its rows are read, one
/// range of items at a time, so memory stays that of one range whatever the
/// job's size. A failure after the head ends the body early (the client sees
/// an incomplete download) and is logged.
fn download(
    items: FailedItems,
    name: String,
    content_type: &'static str,
    head: &'static str,
    rows: fn(&[FailedItem]) -> Result<String, csv::Error>,
) -> Response {
    let job = items.job().id;
    let body =
        futures::stream::unfold((Some(items), Some(head)), move |(items, head)| async move {
            if let Some(head) = head.filter(|h| !h.is_empty()) {
                return Some((Ok(head.to_owned()), (items, None)));
            }
            let mut items = items?;
            let page = match items.next().await {
                Ok(Some(page)) => rows(&page).map_err(|e| e.to_string()),
                Ok(None) => return None,
                Err(e) => Err(e.to_string()),
            };
            match page {
                Ok(text) => Some((Ok(text), (Some(items), None))),
                Err(e) => {
                    tracing::warn!(job, error = %e, "console: a failed-items download ended early");
                    Some((Err(std::io::Error::other(e)), (None, None)))
                }
            }
        });
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut resp = (StatusCode::OK, Body::from_stream(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// An item's original JSON (`null` when its text is no longer kept).
fn original(item: &FailedItem) -> Value {
    item.item
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

const CSV_HEAD: &str = "index,customerId,code,error,item\n";

fn csv_rows(items: &[FailedItem]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for failed in items {
        let e = &failed.entry;
        out.write_record([
            e["index"].to_string(),
            guard(e["customerId"].as_str().unwrap_or_default()).into_owned(),
            e["code"].to_string(),
            guard(e["message"].as_str().unwrap_or_default()).into_owned(),
            original(failed).to_string(),
        ])?;
    }
    out.flush()?;
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn ndjson_rows(items: &[FailedItem]) -> String {
    let mut body = String::new();
    for failed in items {
        let e = &failed.entry;
        let line = serde_json::json!({
            "index": e["index"],
            "code": e["code"],
            "error": e["message"],
            "item": original(failed),
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    body
}

pub(crate) async fn failed_csv(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
) -> Response {
    match state.app.jobs().failed_items(op.tenant.id, &key).await {
        Ok(items) => {
            let name = format!("job-{}-failed.csv", items.job().id);
            download(items, name, "text/csv; charset=utf-8", CSV_HEAD, csv_rows)
        }
        Err(e) => failed(e),
    }
}

pub(crate) async fn failed_ndjson(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
) -> Response {
    match state.app.jobs().failed_items(op.tenant.id, &key).await {
        Ok(items) => {
            let name = format!("job-{}-failed.ndjson", items.job().id);
            download(items, name, "application/x-ndjson", "", |page| {
                Ok(ndjson_rows(page))
            })
        }
        Err(e) => failed(e),
    }
}
