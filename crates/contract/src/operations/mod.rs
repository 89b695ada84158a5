//! The operations of the document: one per (method, path) of the route table,
//! under the canonical base path, with their parameters, bodies, answers and
//! the statuses each can refuse with.

mod v3;
mod v4;

use super::requests::{batch_schema_name, item_schema_name};
use serde_json::{Map, Value, json};
use wire::BatchType;

/// Who may call an operation.
#[derive(Clone, Copy)]
pub enum Keys {
    /// No keys (probes, the document itself).
    None,
    /// `apikey`, and `secretkey` while the tenant's `highSecurity` is on (the default).
    Api,
    /// `apikey` and `secretkey`, always.
    Secret,
}

pub struct Operation {
    pub method: &'static str,
    /// The path after the base (or the whole path when `top_level`).
    pub path: String,
    pub top_level: bool,
    /// Served under the v3.0 base path.
    pub v3: bool,
    pub id: String,
    pub tag: &'static str,
    pub summary: String,
    pub description: &'static str,
    pub keys: Keys,
    pub parameters: Vec<Value>,
    pub body: Option<String>,
    /// The success status, its schema component, and its description.
    pub ok: (u16, &'static str, &'static str),
    /// Statuses the operation refuses with besides those every API call may answer.
    pub refusals: Vec<u16>,
    /// Operations a success leads to: (operation id, its parameter, the runtime expression filling it).
    pub links: Vec<(&'static str, &'static str, &'static str)>,
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn job_id() -> Value {
    path_param(
        "jobId",
        "The job's id, as `POST /batch/{type}` answered it.",
        json!({"type": "integer", "format": "int64", "minimum": 1}),
    )
}

fn string_param(name: &str, description: &str) -> Value {
    path_param(name, description, json!({"type": "string", "minLength": 1}))
}

fn idempotency_key() -> Value {
    json!({"name": "Idempotency-Key", "in": "header", "required": false,
           "description": "Replaying the same key with the same batch type and body within 24 hours answers the original `jobId` and creates nothing; with another type or body: 409/4009.",
           "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

const BODY: &[u16] = &[408, 413, 415, 422];

struct Builder(Vec<Operation>);

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        method: &'static str,
        path: &str,
        id: &str,
        tag: &'static str,
        summary: &str,
        keys: Keys,
        body: Option<String>,
        ok: (u16, &'static str, &'static str),
    ) -> &mut Operation {
        let refusals = if body.is_some() {
            BODY.to_vec()
        } else {
            Vec::new()
        };
        self.0.push(Operation {
            method,
            path: path.to_owned(),
            top_level: false,
            v3: false,
            id: id.to_owned(),
            tag,
            summary: summary.to_owned(),
            description: "",
            keys,
            parameters: Vec::new(),
            body,
            ok,
            refusals,
            links: Vec::new(),
        });
        self.0.last_mut().expect("just pushed")
    }
}

impl Operation {
    fn refuses(&mut self, statuses: &[u16]) -> &mut Self {
        self.refusals.extend_from_slice(statuses);
        self
    }

    fn param(&mut self, p: Value) -> &mut Self {
        self.parameters.push(p);
        self
    }

    fn links(&mut self, links: &[(&'static str, &'static str, &'static str)]) -> &mut Self {
        self.links.extend_from_slice(links);
        self
    }

    fn describe(&mut self, description: &'static str) -> &mut Self {
        self.description = description;
        self
    }
}

fn camel(t: BatchType) -> String {
    t.as_str()
        .split(['-', '/'])
        .enumerate()
        .map(|(i, w)| {
            let mut c = w.chars();
            match (i, c.next()) {
                (0, Some(f)) => f.to_string() + c.as_str(),
                (_, Some(f)) => f.to_ascii_uppercase().to_string() + c.as_str(),
                _ => String::new(),
            }
        })
        .collect()
}

/// Every operation, in the order the reference shows them.
pub fn all() -> Vec<Operation> {
    let mut b = Builder(Vec::new());
    v4::add(&mut b);
    v3::add(&mut b);
    let mut top = |path: &str,
                   id: &str,
                   summary: &str,
                   ok: (u16, &'static str, &'static str),
                   refusals: &[u16]| {
        let op = b.add("get", path, id, "Service", summary, Keys::None, None, ok);
        op.top_level = true;
        op.refusals = refusals.to_vec();
    };
    top(
        "/health",
        "health",
        "The process is up",
        (200, "Probe", "Always `ok` while the process serves."),
        &[],
    );
    top(
        "/ready",
        "ready",
        "The database answers",
        (
            200,
            "Probe",
            "`ready`; 503 `unavailable` while the database does not answer.",
        ),
        &[503],
    );
    top(
        super::DOCUMENT_PATH,
        "openApiDocument",
        "This document (OpenAPI 3.1)",
        (200, "", "The document."),
        &[],
    );
    top(
        super::REFERENCE_PATH,
        "reference",
        "This document as an HTML page",
        (200, "", "The reference page."),
        &[],
    );
    b.0
}

/// The operation object of the document.
pub fn render(op: &Operation) -> Value {
    let mut responses = Map::new();
    let (status, schema, description) = op.ok;
    let content = match (op.path.as_str(), schema) {
        (super::REFERENCE_PATH, _) => json!({"text/html": {"schema": {"type": "string"}}}),
        // One event of the stream (its `event`, `id` and `data` fields).
        (_, "text/event-stream") => json!({"text/event-stream": {"schema": {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"type": "string", "enum": ["progress", "completed", "failed", "stopped"]},
                "id": {"type": "string"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"anyOf": [
                        {"$ref": "#/components/schemas/JobProgress"},
                        {"$ref": "#/components/schemas/JobStatus"}
                    ]}
                }
            }
        }}}),
        (_, "") => json!({"application/json": {"schema": {"type": "object"}}}),
        (_, name) => {
            json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}})
        }
    };
    let request_id = json!({"x-request-id": {"$ref": "#/components/headers/RequestId"}});
    let mut ok = json!({"description": description, "content": content, "headers": request_id});
    if !op.links.is_empty() {
        let links: Map<String, Value> = op
            .links
            .iter()
            .map(|(target, param, expression)| {
                let name = target[..1].to_ascii_uppercase() + &target[1..];
                (
                    name,
                    json!({"operationId": target, "parameters": {*param: expression}}),
                )
            })
            .collect();
        ok["links"] = Value::Object(links);
    }
    responses.insert(status.to_string(), ok);
    let mut refusals = op.refusals.clone();
    if !op.top_level {
        // Every API call: unreadable path or query (400), keys (401), internal
        // error (500), connection limit or body budget (503).
        refusals.extend_from_slice(&[400, 401, 500, 503]);
    }
    refusals.sort_unstable();
    refusals.dedup();
    for s in refusals {
        let schema = if op.path == "/ready" && s == 503 {
            "Probe"
        } else {
            "ErrorBody"
        };
        let mut response = json!({
            "description": refusal_description(s),
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
            "headers": request_id.clone()
        });
        if matches!(s, 429 | 503) && schema == "ErrorBody" {
            response["headers"]["Retry-After"] =
                json!({"description": "Seconds to wait.", "schema": {"type": "integer"}});
        }
        responses.insert(s.to_string(), response);
    }
    let mut operation = json!({
        "operationId": op.id,
        "tags": [op.tag],
        "summary": op.summary,
        "responses": responses,
    });
    if !op.description.is_empty() {
        operation["description"] = json!(op.description);
    }
    let mut parameters = op.parameters.clone();
    if !op.top_level {
        parameters.push(json!({"$ref": "#/components/parameters/RequestId"}));
    }
    if !parameters.is_empty() {
        operation["parameters"] = json!(parameters);
    }
    if let Some(body) = &op.body {
        operation["requestBody"] = json!({"required": true, "content": {"application/json": {
            "schema": {"$ref": format!("#/components/schemas/{body}")}}}});
    }
    operation["security"] = match op.keys {
        Keys::None => json!([]),
        Keys::Api => json!([{"apikey": [], "secretkey": []}, {"apikey": []}]),
        Keys::Secret => json!([{"apikey": [], "secretkey": []}]),
    };
    operation
}

fn refusal_description(status: u16) -> &'static str {
    match status {
        400 => {
            "Malformed: unreadable JSON, path or query string (3016, 3003), a required field missing (3000)."
        }
        401 => "Missing or wrong keys (1000), or the secret key required (1001).",
        404 => "Not found (4004, 7000, 9002, 9006), also another tenant's.",
        408 => "The body was not received in time (3016).",
        409 => {
            "A conflict (4009): a finished job, an `Idempotency-Key` reused with another body, a transaction refunded in full."
        }
        413 => "The body is over the byte limit (3011).",
        415 => "Not JSON, or a `Content-Encoding` other than identity (3013).",
        422 => "An invalid value naming its field (3003, 3011, 9004, 9007, 9008).",
        429 => "The tenant's queue is full (3011); retry after `Retry-After` seconds.",
        500 => "An internal error (5000); the cause is only in the server log.",
        503 => {
            "At the connection limit or in-flight body budget (5000); retry after `Retry-After` seconds."
        }
        _ => "Refused.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_unique_and_batch_ids_name_their_type() {
        let ops = all();
        let mut ids: Vec<&str> = ops.iter().map(|o| o.id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(ids.contains(&"createBatchOrdersTransactions"));
        assert!(ids.contains(&"createBatchBalanceInquiry"));
        for op in &ops {
            for (target, param, _) in &op.links {
                let target = ops.iter().find(|o| o.id == *target).expect(target);
                assert!(
                    target.parameters.iter().any(|p| p["name"] == *param),
                    "{} links to {} by {param}",
                    op.id,
                    target.id
                );
            }
        }
    }
}
