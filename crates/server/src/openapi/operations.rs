//! The operations of the document: one per (method, path) of the route table,
//! under the canonical base path, with their parameters, bodies, answers and
//! the statuses each can refuse with.

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
    for t in BatchType::ALL {
        b.add(
            "post",
            &format!("/batch/{}", t.as_str()),
            &format!("createBatch{}", {
                let c = camel(t);
                c[..1].to_ascii_uppercase() + &c[1..]
            }),
            "Batch jobs",
            &format!("Create a `{}` job", t.as_str()),
            Keys::Secret,
            Some(batch_schema_name(t)),
            (200, "JobCreated", "The job is stored with all its items; it runs in the background."),
        )
        .param(idempotency_key())
        .refuses(&[409, 429])
        .links(&[
            ("getJob", "jobId", "$response.body#/jobId"),
            ("getJobStatus", "jobId", "$response.body#/jobId"),
            ("stopJob", "jobId", "$response.body#/jobId"),
        ])
        .describe(
            "The body is checked as a whole (JSON, `body` a non-empty array of at most the item limit); \
             the items themselves are checked when the job runs, and each fails alone with its own code.",
        );
        let _ = item_schema_name(t);
    }
    b.add(
        "get",
        "/batch",
        "listJobs",
        "Batch jobs",
        "List the tenant's jobs, newest first",
        Keys::Secret,
        None,
        (200, "JobList", "A page of jobs (without their results)."),
    )
    .param(query(
        "status",
        "Only jobs in this state.",
        json!({"type": "string", "enum": ["queued", "running", "completed", "failed", "stopped"]}),
    ))
    .param(query(
        "type",
        "Only jobs of this batch type.",
        json!({"type": "string", "enum": BatchType::ALL.map(BatchType::as_str)}),
    ))
    .param(query(
        "limit",
        "Jobs per page (default 50).",
        json!({"type": "integer", "minimum": 1, "maximum": 200}),
    ))
    .param(query(
        "after",
        "The `next` of the previous page.",
        json!({"type": "integer", "format": "int64"}),
    ))
    .refuses(&[422]);
    for (path, id) in [
        ("/batch/{jobId}", "getJob"),
        ("/batches/{jobId}/status", "getJobStatus"),
    ] {
        b.add("get", path, id, "Batch jobs", "A job's status and per-item results", Keys::Secret, None,
            (200, "JobStatus", "The job; `response` holds the results of the items processed so far, in submission order."))
            .param(job_id())
            .refuses(&[404]);
    }
    for (method, path, id) in [
        ("delete", "/batch/{jobId}", "stopJob"),
        ("post", "/batches/{jobId}/stop", "stopJobByPost"),
    ] {
        b.add(
            method,
            path,
            id,
            "Batch jobs",
            "Stop a queued or running job",
            Keys::Secret,
            None,
            (
                200,
                "JobStopped",
                "Stopped: items not yet processed never run; processed ones keep their results.",
            ),
        )
        .param(job_id())
        .refuses(&[404, 409]);
    }
    let customer = || string_param("customerId", "The merchant's id of the customer.");
    for (method, path, id, summary, body, attach) in [
        (
            "post",
            "/customers/{customerId}/tags",
            "attachTags",
            "Attach tags to a customer",
            true,
            true,
        ),
        (
            "delete",
            "/customers/{customerId}/tags",
            "removeTags",
            "Remove tags from a customer",
            true,
            false,
        ),
        (
            "delete",
            "/customers/{customerId}/tags/{tag}",
            "removeTag",
            "Remove one tag from a customer",
            false,
            false,
        ),
    ] {
        let op = b
            .add(
                method,
                path,
                id,
                "Customers",
                summary,
                Keys::Api,
                body.then(|| "CustomerTags".to_owned()),
                (
                    200,
                    "Done",
                    if attach {
                        "Attached (each tag once)."
                    } else {
                        "Removed."
                    },
                ),
            )
            .param(customer())
            .refuses(&[404, 422]);
        if !body {
            op.param(string_param("tag", "The tag to remove."));
        }
    }
    b.add(
        "post",
        "/customers",
        "upsertCustomer",
        "Customers",
        "Create or update a customer",
        Keys::Api,
        Some("CustomerUpsert".into()),
        (200, "CustomerCreated", "The customer's `gameballId`."),
    )
    .links(&[
        ("getCustomer", "customerId", "$request.body#/customerId"),
        ("getBalance", "customerId", "$request.body#/customerId"),
    ]);
    b.add(
        "get",
        "/customers/{customerId}",
        "getCustomer",
        "Customers",
        "A customer's profile",
        Keys::Api,
        None,
        (200, "CustomerView", "The profile as stored."),
    )
    .param(customer())
    .refuses(&[404]);
    b.add(
        "delete",
        "/customers/{customerId}",
        "deleteCustomer",
        "Customers",
        "Delete a customer, its events and movements",
        Keys::Secret,
        None,
        (200, "CustomerDeleted", "Deleted."),
    )
    .param(customer())
    .refuses(&[404]);
    b.add(
        "get",
        "/customers/{customerId}/balance",
        "getBalance",
        "Points",
        "A customer's balance",
        Keys::Secret,
        None,
        (200, "BalanceView", "The balance now."),
    )
    .param(customer())
    .refuses(&[404]);
    b.add(
        "post",
        "/events",
        "sendEvents",
        "Customers",
        "Record a customer's events (rewarded events credit points)",
        Keys::Api,
        Some("CustomerEvents".into()),
        (200, "EventsAccepted", "Recorded."),
    )
    .refuses(&[404]);
    let calls: [(&str, &str, &str, &str, &str, &'static str); 6] = [
        (
            "/transactions/cashback",
            "rewardCashback",
            "Earn points on an amount paid (creates unknown customers)",
            "Cashback",
            "CashbackRewarded",
            "The points earned.",
        ),
        (
            "/transactions/redeem",
            "redeemPoints",
            "Spend points, an amount of money, or a hold",
            "Redemption",
            "PointsRedeemed",
            "The points spent.",
        ),
        (
            "/transactions/manual",
            "adjustPoints",
            "Add or deduct points by hand",
            "ManualTransaction",
            "PointsAdjusted",
            "The points added (or deducted, negative).",
        ),
        (
            "/transactions/refund",
            "refund",
            "Refund a cashback, an order or a redemption, fully or in part",
            "Refund",
            "Refunded",
            "What the refund moved.",
        ),
        (
            "/transactions/hold",
            "holdPoints",
            "Reserve points for a later redemption",
            "Hold",
            "PointsHeld",
            "The hold and its reference.",
        ),
        (
            "/orders",
            "rewardOrder",
            "Record an order: earns on `totalPaid`, may spend a hold",
            "Order",
            "OrderRewarded",
            "The points earned and redeemed.",
        ),
    ];
    for (path, id, summary, body, ok, description) in calls {
        let op = b
            .add(
                "post",
                path,
                id,
                "Points",
                summary,
                Keys::Secret,
                Some(body.into()),
                (200, ok, description),
            )
            .refuses(&[404, 409])
            .links(&[("getBalance", "customerId", "$request.body#/customerId")]);
        if id == "holdPoints" {
            op.links(&[
                ("getHold", "holdReference", "$response.body#/holdReference"),
                (
                    "releaseHold",
                    "holdReference",
                    "$response.body#/holdReference",
                ),
            ]);
        }
        if id == "rewardOrder" {
            op.links(&[("getOrderTransactions", "orderId", "$request.body#/orderId")]);
        }
    }
    b.add(
        "get",
        "/orders/{orderId}/transactions",
        "getOrderTransactions",
        "Points",
        "Every movement of an order",
        Keys::Secret,
        None,
        (
            200,
            "OrderTransactionList",
            "The order's movements, oldest first.",
        ),
    )
    .param(string_param("orderId", "The order's id."))
    .refuses(&[404]);
    for (path, id, summary, ok, paged) in [
        (
            "/transactions",
            "listTransactions",
            "The tenant's (or a customer's) movements, oldest first",
            "TransactionList",
            true,
        ),
        (
            "/transactions/count",
            "countTransactions",
            "How many movements match the filters",
            "TransactionCount",
            false,
        ),
    ] {
        let op = b
            .add(
                "get",
                path,
                id,
                "Points",
                summary,
                Keys::Secret,
                None,
                (200, ok, "Matching movements."),
            )
            .param(query(
                "customerId",
                "Only this customer's movements.",
                json!({"type": "string"}),
            ))
            .param(query(
                "type",
                "Only movements of this type.",
                json!({"type": "string", "enum": crate::handlers::listing::TYPE_NAMES}),
            ))
            .param(query(
                "direction",
                "`+` points added, `-` points taken.",
                json!({"type": "string", "enum": ["+", "-"]}),
            ))
            .param(query(
                "from",
                "Transaction time from (included).",
                json!({"type": "string", "format": "date-time"}),
            ))
            .param(query(
                "to",
                "Transaction time to (excluded).",
                json!({"type": "string", "format": "date-time"}),
            ))
            .param(query(
                "transactionId",
                "Only movements with this transaction id.",
                json!({"type": "string"}),
            ))
            .refuses(&[422]);
        if paged {
            op.param(query(
                "startAfter",
                "The `next` of the previous page.",
                json!({"type": "integer", "format": "int64"}),
            ))
            .param(query(
                "limit",
                "Movements per page (default 50).",
                json!({"type": "integer", "minimum": 1, "maximum": 200}),
            ));
        }
    }
    b.add(
        "post",
        "/orders/reward-preview",
        "previewOrderReward",
        "Points",
        "The points an order would earn (nothing is written)",
        Keys::Secret,
        Some("RewardPreviewRequest".into()),
        (200, "RewardPreview", "The points at the tenant's factors."),
    );
    b.add(
        "delete",
        "/orders/{orderId}/transactions",
        "reverseOrder",
        "Points",
        "Reverse an order as its full refund would",
        Keys::Secret,
        None,
        (
            200,
            "Refunded",
            "What the reversal moved (refund id `reversal-{orderId}`).",
        ),
    )
    .param(string_param("orderId", "The order's id."))
    .refuses(&[404, 409, 422]);
    let hold = || {
        string_param(
            "holdReference",
            "The reference `POST /transactions/hold` answered.",
        )
    };
    b.add(
        "get",
        "/transactions/hold/{holdReference}",
        "getHold",
        "Points",
        "A hold and its state",
        Keys::Secret,
        None,
        (200, "HoldView", "The hold."),
    )
    .param(hold())
    .refuses(&[404]);
    b.add(
        "delete",
        "/transactions/hold/{holdReference}",
        "releaseHold",
        "Points",
        "Release an active hold",
        Keys::Secret,
        None,
        (
            200,
            "HoldReleased",
            "Released: its points are available again.",
        ),
    )
    .param(hold())
    .refuses(&[404]);
    b.add(
        "get",
        "/configurations/cashback",
        "getCashbackConfiguration",
        "Program",
        "How money spent earns points",
        Keys::Api,
        None,
        (
            200,
            "CashbackConfiguration",
            "The tenant's earning settings.",
        ),
    );
    b.add(
        "get",
        "/configurations/redemption",
        "getRedemptionConfiguration",
        "Program",
        "What points are worth",
        Keys::Api,
        None,
        (
            200,
            "RedemptionConfiguration",
            "The tenant's redemption settings.",
        ),
    );
    v3(&mut b);
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

/// The Gameball v3.0 routes (operation ids prefixed `v3`).
fn v3(b: &mut Builder) {
    const TAG: &str = "Gameball v3.0";
    let from = b.0.len();
    let player = || {
        string_param(
            "playerUniqueId",
            "The merchant's id of the player (customer).",
        )
    };
    b.add(
        "post",
        "/player",
        "v3CreatePlayer",
        TAG,
        "Create or update a player",
        Keys::Api,
        Some("v3.Player".into()),
        (200, "v3.PlayerSaved", "The player's `gameballId`."),
    );
    b.add(
        "get",
        "/player/{playerUniqueId}",
        "v3GetPlayer",
        TAG,
        "A player's profile",
        Keys::Api,
        None,
        (200, "v3.PlayerView", "The profile."),
    )
    .param(player())
    .refuses(&[404]);
    b.add(
        "get",
        "/player/{playerUniqueId}/balance",
        "v3GetPlayerBalance",
        TAG,
        "A player's balance",
        Keys::Secret,
        None,
        (
            200,
            "v3.PlayerBalance",
            "`pointsBalance` (available) beside the v4 balance.",
        ),
    )
    .param(player())
    .refuses(&[404]);
    for (method, id, summary) in [
        ("post", "v3AttachTags", "Attach tags to a player"),
        ("delete", "v3RemoveTags", "Remove tags from a player"),
    ] {
        b.add(
            method,
            "/player/{playerUniqueId}/tags",
            id,
            TAG,
            summary,
            Keys::Api,
            Some("CustomerTags".into()),
            (200, "Done", "Done."),
        )
        .param(player())
        .refuses(&[404, 422]);
    }
    b.add(
        "post",
        "/event",
        "v3SendEvent",
        TAG,
        "Record a player's events",
        Keys::Api,
        Some("v3.Event".into()),
        (200, "EventsAccepted", "Recorded."),
    )
    .refuses(&[404]);
    let calls: [(&str, &str, &str, &str, &'static str); 6] = [
        (
            "/transaction/cashback",
            "v3RewardCashback",
            "Earn points on an amount paid",
            "v3.Cashback",
            "v3.CashbackRewarded",
        ),
        (
            "/transaction/hold",
            "v3HoldPoints",
            "Reserve points worth `amount`",
            "v3.Hold",
            "v3.PointsHeld",
        ),
        (
            "/transaction/redeem",
            "v3RedeemPoints",
            "Spend `redeemedAmount` or a hold",
            "v3.Redeem",
            "v3.PointsRedeemed",
        ),
        (
            "/transaction/manual",
            "v3AdjustPoints",
            "Add or deduct points by hand",
            "v3.ManualTransaction",
            "v3.PointsAdjusted",
        ),
        (
            "/transaction/refund",
            "v3Refund",
            "Refund a transaction, fully or in part",
            "v3.Refund",
            "v3.Refunded",
        ),
        (
            "/order",
            "v3RewardOrder",
            "Record an order",
            "v3.Order",
            "v3.OrderRewarded",
        ),
    ];
    for (path, id, summary, body, ok) in calls {
        b.add(
            "post",
            path,
            id,
            TAG,
            summary,
            Keys::Secret,
            Some(body.into()),
            (200, ok, "Done."),
        )
        .refuses(&[404, 409]);
    }
    b.add(
        "delete",
        "/transaction/hold/{holdReference}",
        "v3ReleaseHold",
        TAG,
        "Release an active hold",
        Keys::Secret,
        None,
        (200, "HoldReleased", "Released."),
    )
    .param(string_param("holdReference", "The hold's reference."))
    .refuses(&[404]);
    b.add(
        "get",
        "/config",
        "v3GetConfiguration",
        TAG,
        "The program's settings",
        Keys::Api,
        None,
        (200, "v3.Configuration", "Earning and redemption settings."),
    );
    b.add(
        "post",
        "/batch",
        "v3CreateBatch",
        TAG,
        "Create a `cashback`, `redeem` or `balance` job",
        Keys::Secret,
        Some("v3.Batch".into()),
        (200, "v3.JobId", "The job's id alone, as the SDKs read it."),
    )
    .param(idempotency_key())
    .refuses(&[409, 429]);
    b.add(
        "get",
        "/batch/{jobId}",
        "v3GetJob",
        TAG,
        "A job's status and per-item results (the v4 status)",
        Keys::Secret,
        None,
        (200, "JobStatus", "The job."),
    )
    .param(job_id())
    .refuses(&[404]);
    b.add(
        "delete",
        "/batch/{jobId}",
        "v3StopJob",
        TAG,
        "Stop a queued or running job",
        Keys::Secret,
        None,
        (200, "JobStopped", "Stopped."),
    )
    .param(job_id())
    .refuses(&[404, 409]);
    let op = b.add(
        "get",
        "/transaction/list",
        "v3ListTransactions",
        TAG,
        "The tenant's movements, oldest first, by page",
        Keys::Secret,
        None,
        (200, "v3.TransactionPage", "A page of movements."),
    );
    for (name, description, schema) in [
        (
            "page",
            "The page (from 1; `page × limit` ≤ 10,000).",
            json!({"type": "integer", "minimum": 1}),
        ),
        (
            "limit",
            "Movements per page (default 50).",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
        ),
        (
            "direction",
            "`+` points added, `-` points taken.",
            json!({"type": "string", "enum": ["+", "-"]}),
        ),
        (
            "from",
            "Transaction time from (included).",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "to",
            "Transaction time to (excluded).",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "transactionId",
            "Only movements with this transaction id.",
            json!({"type": "string"}),
        ),
    ] {
        op.param(query(name, description, schema));
    }
    op.refuses(&[422]);
    for op in &mut b.0[from..] {
        op.v3 = true;
    }
}

/// The operation object of the document.
pub fn render(op: &Operation) -> Value {
    let mut responses = Map::new();
    let (status, schema, description) = op.ok;
    let content = match (op.path.as_str(), schema) {
        (super::REFERENCE_PATH, _) => json!({"text/html": {"schema": {"type": "string"}}}),
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
