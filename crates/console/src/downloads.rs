//! A job's failed items downloaded with their original texts: CSV (for a
//! spreadsheet: no cell can start a formula) and NDJSON.

use crate::{Operator, State, failed, internal};
use axum::extract::{Path, State as With};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use store::FailedItem;

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

/// An item's original JSON (`null` when its text is no longer kept).
fn original(item: &FailedItem) -> Value {
    item.item
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

fn csv(items: &[FailedItem]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["index", "customerId", "code", "error", "item"])?;
    for failed in items {
        let e = &failed.entry;
        out.write_record([
            e["index"].to_string(),
            spreadsheet_safe(e["customerId"].as_str().unwrap_or_default()),
            e["code"].to_string(),
            spreadsheet_safe(e["message"].as_str().unwrap_or_default()),
            original(failed).to_string(),
        ])?;
    }
    out.flush()?;
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) async fn failed_csv(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
) -> Response {
    let (job, items) = match state.app.jobs().failed_items(op.tenant.id, &key).await {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    match csv(&items) {
        Ok(body) => download(
            format!("job-{}-failed.csv", job.id),
            "text/csv; charset=utf-8",
            body,
        ),
        Err(e) => internal(&e),
    }
}

pub(crate) async fn failed_ndjson(
    With(state): With<State>,
    op: Operator,
    Path(key): Path<String>,
) -> Response {
    let (job, items) = match state.app.jobs().failed_items(op.tenant.id, &key).await {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    let mut body = String::new();
    for failed in &items {
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
    download(
        format!("job-{}-failed.ndjson", job.id),
        "application/x-ndjson",
        body,
    )
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
}
