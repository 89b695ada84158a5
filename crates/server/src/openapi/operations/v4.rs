//! The v4 operations (under the canonical base path).

use super::*;

/// Adds the v4 operations, in the order the reference shows them.
pub(super) fn add(b: &mut Builder) {
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
        "/batch/{jobId}/events",
        "getJobEvents",
        "Batch jobs",
        "A job's progress as Server-Sent Events",
        Keys::Secret,
        None,
        (
            200,
            "text/event-stream",
            "`event: progress` (`id`: items processed; `data`: `JobProgress`) whenever the counts change, then one `event: completed|failed|stopped` (`id: final`; `data`: the status without `response`), and the stream ends. `Last-Event-ID` resumes.",
        ),
    )
    .param(job_id())
    .param(json!({"name": "Last-Event-ID", "in": "header", "required": false,
        "description": "The id of the last event received: only later ones are sent.",
        "schema": {"type": "string"}}))
    .refuses(&[404]);
    b.add(
        "post",
        "/batch/{jobId}/retry",
        "retryJobFailures",
        "Batch jobs",
        "A new job of a finished job's failed items",
        Keys::Secret,
        None,
        (
            200,
            "JobCreated",
            "The job of the failed items (their original texts, in order); asked again, the same job.",
        ),
    )
    .param(job_id())
    .refuses(&[404, 409, 429])
    .links(&[("getJob", "jobId", "$response.body#/jobId")])
    .describe(
        "Idempotent per job: the first call creates the job, later calls answer it. \
         409/4009 while the job is queued or running, when none of its items failed, \
         or when its items are no longer kept (a job's item texts are kept while it is, \
         when some failed).",
    );
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
        "get",
        "/customers/{customerId}/transactions",
        "getCustomerTransactions",
        "Points",
        "A customer's movements, newest first",
        Keys::Secret,
        None,
        (
            200,
            "TransactionList",
            "A page of the customer's movements; `next` is the `before` of the next page.",
        ),
    )
    .param(customer())
    .param(query(
        "limit",
        "Movements per page (default 50).",
        json!({"type": "integer", "minimum": 1, "maximum": 200}),
    ))
    .param(query(
        "before",
        "The `next` of the previous page: only older movements.",
        json!({"type": "integer", "format": "int64"}),
    ))
    .refuses(&[404, 422]);
    b.add(
        "post",
        "/events",
        "sendEvents",
        "Customers",
        "Record a customer's events (rewarded events credit points)",
        Keys::Api,
        Some("CustomerEvents".into()),
        (200, "EventsAccepted", "Recorded."),
    );
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
            "What the reversal moved (refund id `reversal-{gameballTransactionId}` of the order).",
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
    webhooks(b);
}

/// `/webhooks`: endpoints told when jobs end, and their deliveries.
fn webhooks(b: &mut Builder) {
    let webhook = || {
        path_param(
            "webhookId",
            "The endpoint's id, as `POST /webhooks` answered it.",
            json!({"type": "integer", "format": "int64", "minimum": 1}),
        )
    };
    b.add(
        "post",
        "/webhooks",
        "createWebhook",
        "Webhooks",
        "Register an endpoint told when jobs end",
        Keys::Secret,
        Some("WebhookEndpoint".into()),
        (
            201,
            "WebhookCreated",
            "Registered. `secret` signs every delivery and is shown only now.",
        ),
    )
    .links(&[
        ("listWebhookDeliveries", "webhookId", "$response.body#/id"),
        ("deleteWebhook", "webhookId", "$response.body#/id"),
    ])
    .describe(
        "When a job of the tenant ends, each endpoint subscribed to its event (`batch.completed`, `batch.failed`, \
         `batch.stopped`) is sent one `WebhookEvent` by POST, with headers `Loyalbatch-Event-Id` and \
         `Loyalbatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`. \
         A 2xx answer within 10 s delivers it; otherwise it is tried again after 5 s, doubling to at most an hour \
         (±20 %), for 3 days, then marked failed. At most 16 endpoints per tenant (422/3011).",
    );
    b.add(
        "get",
        "/webhooks",
        "listWebhooks",
        "Webhooks",
        "The tenant's endpoints (without their secrets)",
        Keys::Secret,
        None,
        (200, "WebhookList", "The endpoints, oldest first."),
    );
    b.add(
        "delete",
        "/webhooks/{webhookId}",
        "deleteWebhook",
        "Webhooks",
        "Remove an endpoint and its deliveries",
        Keys::Secret,
        None,
        (
            200,
            "WebhookRemoved",
            "Removed: nothing more is sent to it.",
        ),
    )
    .param(webhook())
    .refuses(&[404]);
    b.add(
        "get",
        "/webhooks/{webhookId}/deliveries",
        "listWebhookDeliveries",
        "Webhooks",
        "An endpoint's deliveries, newest first",
        Keys::Secret,
        None,
        (
            200,
            "DeliveryList",
            "A page of deliveries with their attempts.",
        ),
    )
    .param(webhook())
    .param(query(
        "limit",
        "Deliveries per page (default 50).",
        json!({"type": "integer", "minimum": 1, "maximum": 200}),
    ))
    .param(query(
        "after",
        "The `next` of the previous page.",
        json!({"type": "integer", "format": "int64"}),
    ))
    .refuses(&[404, 422]);
    b.add(
        "post",
        "/webhooks/{webhookId}/deliveries/{deliveryId}/retry",
        "retryWebhookDelivery",
        "Webhooks",
        "Send a delivery again now",
        Keys::Secret,
        None,
        (
            202,
            "DeliveryView",
            "Due now (`pending`), whatever its state was; the same event id and body are sent again.",
        ),
    )
    .param(webhook())
    .param(path_param(
        "deliveryId",
        "The delivery's id, as the deliveries list shows it.",
        json!({"type": "integer", "format": "int64", "minimum": 1}),
    ))
    .refuses(&[404]);
}
