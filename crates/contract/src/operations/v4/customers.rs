//! The customers' operations.

use crate::operations::*;

/// Customers: tags, profiles, balances, histories and events.
pub(super) fn customers(b: &mut Builder) {
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
                Keys::Secret,
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
        Keys::Secret,
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
}
