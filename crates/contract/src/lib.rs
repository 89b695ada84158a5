//! The OpenAPI 3.1 document of the API, generated from the code: the response
//! schemas from the wire types (`utoipa` derives), the request schemas from the
//! domain's field tables and limits, the operations from one list checked
//! against the router's route table (the server's tests). Served at
//! `/api/openapi.json` and, as an HTML page that needs nothing from the
//! network, at `/docs`.
#![forbid(unsafe_code)]

mod operations;
mod reference;
mod requests;
mod requests_v3;

use serde_json::{Map, Value, json};
use std::sync::LazyLock;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

pub const DOCUMENT_PATH: &str = "/api/openapi.json";
pub const REFERENCE_PATH: &str = "/docs";
/// The base path the document names; the others serve the same operations.
pub const CANONICAL_BASE: &str = wire::BASE_PATHS[0];

/// Objects per batch request the document states (the server's default).
const DOCUMENTED_MAX_ITEMS: usize = 1000;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut text = serde_json::to_string_pretty(&build()).expect("a JSON value serializes");
    text.push('\n');
    text
});

static REFERENCE: LazyLock<String> = LazyLock::new(|| reference::render(&build()));

/// The document as served and committed (`docs/openapi.json`).
pub fn document_text() -> &'static str {
    &DOCUMENT
}

/// `/docs`: the document as one HTML page.
pub fn reference_html() -> &'static str {
    &REFERENCE
}

/// The document as a JSON value (tests compare it with the router's routes).
pub fn document() -> Value {
    build()
}

/// The first example of a request schema of the document (`v3.Cashback`, …).
pub fn example(schema: &str) -> Option<Value> {
    requests::schemas(DOCUMENTED_MAX_ITEMS)
        .into_iter()
        .chain(requests_v3::schemas())
        .find(|(n, _)| n == schema)
        .map(|(_, s)| s["examples"][0].clone())
}

/// Adds `T`'s schema and those it refers to.
fn component<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

fn response_schemas() -> Map<String, Value> {
    let mut list = Vec::new();
    component::<wire::ErrorBody>(&mut list);
    component::<wire::JobCreated>(&mut list);
    component::<wire::JobStatus>(&mut list);
    component::<wire::JobList>(&mut list);
    component::<wire::JobStopped>(&mut list);
    component::<wire::JobProgress>(&mut list);
    component::<wire::JobResults>(&mut list);
    component::<wire::SuccessEntry>(&mut list);
    component::<wire::FailureEntry>(&mut list);
    component::<wire::Success>(&mut list);
    component::<wire::BalanceView>(&mut list);
    component::<wire::OrderTransaction>(&mut list);
    component::<wire::CustomerCreated>(&mut list);
    component::<wire::CustomerView>(&mut list);
    component::<wire::CustomerDeleted>(&mut list);
    component::<wire::EventsAccepted>(&mut list);
    component::<wire::HoldView>(&mut list);
    component::<wire::CashbackConfiguration>(&mut list);
    component::<wire::RedemptionConfiguration>(&mut list);
    component::<wire::Probe>(&mut list);
    component::<wire::TransactionList>(&mut list);
    component::<wire::TransactionCount>(&mut list);
    component::<wire::Done>(&mut list);
    component::<wire::RewardPreview>(&mut list);
    component::<wire::ErrorCode>(&mut list);
    component::<wire::WebhookCreated>(&mut list);
    component::<wire::WebhookList>(&mut list);
    component::<wire::WebhookRemoved>(&mut list);
    component::<wire::DeliveryList>(&mut list);
    component::<wire::DeliveryView>(&mut list);
    component::<wire::WebhookEvent>(&mut list);
    component::<wire::v3::PlayerSaved>(&mut list);
    component::<wire::v3::PlayerView>(&mut list);
    component::<wire::v3::PlayerBalance>(&mut list);
    component::<wire::v3::CashbackRewarded>(&mut list);
    component::<wire::v3::PointsHeld>(&mut list);
    component::<wire::v3::PointsRedeemed>(&mut list);
    component::<wire::v3::PointsAdjusted>(&mut list);
    component::<wire::v3::Refunded>(&mut list);
    component::<wire::v3::OrderRewarded>(&mut list);
    component::<wire::v3::Configuration>(&mut list);
    component::<wire::v3::TransactionPage>(&mut list);
    let mut out = Map::new();
    for (name, schema) in list {
        let value = serde_json::to_value(schema).expect("schemas serialize");
        out.insert(name, value);
    }
    name_success_variants(&mut out);
    if let Some(entry) = out.get_mut("SuccessEntry") {
        let shapes: Vec<String> = wire::BatchType::ALL
            .iter()
            .map(|t| format!("`{}` → `{}`", t.as_str(), success_shape(*t)))
            .collect();
        let described = entry["description"].as_str().unwrap_or_default().to_owned();
        entry["description"] = json!(format!(
            "{described} The shape by batch type: {}.",
            shapes.join(", ")
        ));
    }
    out
}

/// The success shape (a `Success` member) the items of a batch type report.
pub fn success_shape(t: wire::BatchType) -> &'static str {
    use wire::BatchType::*;
    match t {
        Customers => "CustomerSaved",
        Events => "EventsRecorded",
        BalanceInquiry => "CustomerBalance",
        BalanceAdjustment => "PointsAdjusted",
        Cashback => "CashbackRewarded",
        Redeem => "PointsRedeemed",
        Orders => "OrderRewarded",
        OrderTransactions => "OrderTransactionList",
    }
}

/// Each success shape (a `oneOf` member of `Success`, titled) becomes its own
/// component, so a single call's answer names exactly its shape.
fn name_success_variants(schemas: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = schemas
        .get_mut("Success")
        .and_then(|s| s.get_mut("oneOf"))
        .map(Value::take)
    else {
        return;
    };
    let mut refs = Vec::new();
    for variant in variants {
        let title = variant["title"].as_str().unwrap_or_default().to_owned();
        refs.push(json!({"$ref": format!("#/components/schemas/{title}")}));
        schemas.insert(title, variant);
    }
    schemas["Success"]["oneOf"] = Value::Array(refs);
}

const DESCRIPTION: &str = "\
A self-hosted loyalty-points engine with a batch API compatible with Gameball's REST API v4.0.

Every operation under `/api/v4.0/integrations` is also served, identically, under \
`/api/v4/integrations` and `/api/v4.1/integrations`. The job routes have two families: \
`/batch/{jobId}` (GET status, DELETE stop) and `/batches/{jobId}/status` · `/batches/{jobId}/stop`.

Keys travel in the headers `apikey` and `secretkey` (alias `TransactionKey`), case-insensitive. \
Every call needs both keys, except two that client SDKs make with the apikey alone while the \
tenant's `highSecurity` is off (it is on by default): creating or updating a customer \
(`POST /customers`, v3 `POST /player`) and sending events (`POST /events`, v3 `POST /event`), \
which may earn a program's event rewards.

Every refused request answers the envelope `ErrorBody` with a Gameball code; `requestId` is also \
the `x-request-id` header. A batch request is checked as a whole and stores the job; each item is \
checked when the job runs and fails alone, with the code and sentence the single call would answer.

Instants are read as RFC 3339 and written in UTC with exactly three fractional digits.";

fn build() -> Value {
    let mut schemas = response_schemas();
    for (name, schema) in requests::schemas(DOCUMENTED_MAX_ITEMS)
        .into_iter()
        .chain(requests_v3::schemas())
    {
        schemas.insert(name, schema);
    }
    schemas.insert(
        "v3.JobId".into(),
        json!({"type": "integer", "format": "int64", "minimum": 1,
               "description": "The job's id, alone as the body (`12345`)."}),
    );
    let mut paths = Map::new();
    for op in operations::all() {
        let path = if op.top_level {
            op.path.clone()
        } else if op.v3 {
            format!("{}{}", wire::v3::BASE_PATH, op.path)
        } else {
            format!("{CANONICAL_BASE}{}", op.path)
        };
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[op.method] = operations::render(&op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "loyalbatch",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "tags": [
            {"name": "Batch jobs", "description": "Jobs of up to 1,000 items: create, watch, stop, list."},
            {"name": "Customers", "description": "Profiles and events."},
            {"name": "Points", "description": "Cashback, redemptions, holds, adjustments, orders, refunds and balances."},
            {"name": "Program", "description": "The tenant's program settings."},
            {"name": "Webhooks", "description": "Endpoints told when jobs end (signed, retried for 3 days), and their deliveries."},
            {"name": "Service", "description": "Probes and this document (no keys)."},
            {"name": "Gameball v3.0", "description": "The v3.0 API Gameball's server SDKs speak, under `/api/v3.0/integrations`: the same rules under v3's names."}
        ],
        "paths": paths,
        "webhooks": {
            "batchEnded": {"post": {
                "operationId": "batchEnded",
                "tags": ["Webhooks"],
                "summary": "A job ended (sent to each endpoint subscribed to its event)",
                "description": "Verify `Loyalbatch-Signature` before trusting the body: compute HMAC-SHA256 with the endpoint's secret over `<t>.<raw body>` and compare it with `v1` in constant time; refuse a `t` far from now. The same event may arrive more than once (at least once): `Loyalbatch-Event-Id` tells repeats apart.",
                "parameters": [
                    {"name": "Loyalbatch-Event-Id", "in": "header", "required": true,
                     "description": "`evt_<jobId>`, the same at every attempt.", "schema": {"type": "string"}},
                    {"name": "Loyalbatch-Signature", "in": "header", "required": true,
                     "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`.",
                     "schema": {"type": "string"}}
                ],
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/WebhookEvent"}}}},
                "responses": {
                    "2XX": {"description": "Delivered: nothing more is sent for this event."},
                    "default": {"description": "Not delivered: tried again later (5 s, doubling to an hour, for 3 days)."}
                }
            }}
        },
        "components": {
            "schemas": schemas,
            "headers": {
                "RequestId": {
                    "description": "The request's id: the caller's own `x-request-id` when it is 1–64 letters, digits, `-` or `_`, else a new one; also the error body's `requestId`.",
                    "schema": {"type": "string"}
                }
            },
            "parameters": {
                "RequestId": {
                    "name": "x-request-id", "in": "header", "required": false,
                    "description": "An id of the caller's own for this request (kept when it is 1–64 letters, digits, `-` or `_`).",
                    "schema": {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
                }
            },
            "securitySchemes": {
                "apikey": {"type": "apiKey", "in": "header", "name": "apikey",
                           "description": "Names the tenant."},
                "secretkey": {"type": "apiKey", "in": "header", "name": "secretkey",
                              "description": "Proves the caller is the tenant's server (alias header `TransactionKey`)."}
            }
        }
    })
}

#[cfg(test)]
mod tests;
