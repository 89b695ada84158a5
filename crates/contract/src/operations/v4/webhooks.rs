//! The webhooks' operations.

use crate::operations::*;

/// `/webhooks`: endpoints told when jobs end, and their deliveries.
pub(super) fn webhooks(b: &mut Builder) {
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
