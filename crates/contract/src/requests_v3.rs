//! Request schemas of the Gameball v3.0 routes: v3's field names, every field
//! nullable (the SDKs send `null` for what is unset); the v4 rules apply once
//! a body is rewritten (the server's `v3`), and each example is checked that way.

use serde_json::{Map, Value, json};

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 200})
}

fn money() -> Value {
    json!({"type": ["number", "string", "null"], "description": "Money, at most 10^12 and 6 decimal places."})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn object(required: &[&str], properties: Vec<(&str, Value)>, example: Value) -> Value {
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    json!({"type": "object", "required": required, "properties": properties, "examples": [example]})
}

fn player() -> Value {
    let attributes = json!({"type": ["object", "null"], "properties": {
        "displayName": nullable("string"), "firstName": nullable("string"), "lastName": nullable("string"),
        "email": nullable("string"), "mobile": nullable("string"), "gender": nullable("string"),
        "dateOfBirth": nullable("string"), "joinDate": nullable("string"),
        "tags": {"type": ["string", "array", "null"], "description": "Comma-separated (`\"vip, gold\"`) or an array."},
        "custom": nullable("object")
    }});
    object(
        &["playerUniqueId"],
        vec![
            ("playerUniqueId", id()),
            ("email", nullable("string")),
            ("mobile", nullable("string")),
            ("playerAttributes", attributes),
            ("referrerCode", nullable("string")),
            (
                "levelOrder",
                json!({"type": ["integer", "null"], "description": "Ignored."}),
            ),
        ],
        json!({"playerUniqueId": "p1", "playerAttributes": {"displayName": "Jane", "tags": "vip,gold"}}),
    )
}

fn event() -> Value {
    object(
        &["playerUniqueId", "events"],
        vec![
            ("playerUniqueId", id()),
            ("events", json!({"type": "object", "minProperties": 1})),
        ],
        json!({"playerUniqueId": "p1", "events": {"review": {"stars": 5}}}),
    )
}

fn cashback() -> Value {
    object(
        &[
            "playerUniqueId",
            "transactionId",
            "transactionTime",
            "amount",
        ],
        vec![
            ("playerUniqueId", id()),
            ("transactionId", id()),
            ("transactionTime", time()),
            ("amount", money()),
            (
                "merchant",
                json!({"type": ["object", "null"], "description": "Ignored."}),
            ),
        ],
        json!({"playerUniqueId": "p1", "transactionId": "t1", "transactionTime": "2025-03-14T10:00:00Z", "amount": 25}),
    )
}

fn hold() -> Value {
    object(
        &["playerUniqueId", "transactionTime", "amount"],
        vec![
            ("playerUniqueId", id()),
            ("transactionTime", time()),
            ("amount", money()),
        ],
        json!({"playerUniqueId": "p1", "transactionTime": "2025-03-14T10:00:00Z", "amount": 2}),
    )
}

fn redeem() -> Value {
    object(
        &["playerUniqueId", "transactionId", "transactionTime"],
        vec![
            ("playerUniqueId", id()),
            ("transactionId", id()),
            ("transactionTime", time()),
            ("holdReference", nullable("string")),
            ("redeemedAmount", money()),
        ],
        json!({"playerUniqueId": "p1", "transactionId": "r1", "transactionTime": "2025-03-14T10:00:00Z", "redeemedAmount": 2}),
    )
}

fn manual() -> Value {
    object(
        &["playerUniqueId", "transactionId", "username", "reason"],
        vec![
            ("playerUniqueId", id()),
            ("transactionId", id()),
            ("transactionTime", json!({"type": ["string", "null"]})),
            (
                "username",
                json!({"type": "string", "minLength": 1, "maxLength": 255}),
            ),
            (
                "reason",
                json!({"type": "string", "minLength": 1, "maxLength": 255}),
            ),
            ("points", nullable("integer")),
            ("amount", money()),
        ],
        json!({"playerUniqueId": "p1", "transactionId": "m1", "username": "agent", "reason": "goodwill", "points": 10, "amount": null}),
    )
}

fn refund() -> Value {
    object(
        &["playerUniqueId", "transactionId", "transactionTime"],
        vec![
            ("playerUniqueId", id()),
            (
                "transactionId",
                json!({"type": "string", "minLength": 1, "maxLength": 200, "description": "The refund's own id."}),
            ),
            (
                "reverseTransactionId",
                json!({"type": ["string", "null"], "description": "The refunded transaction (PHP SDK: `reversedTransactionId`)."}),
            ),
            ("reversedTransactionId", nullable("string")),
            ("transactionTime", time()),
            ("amount", money()),
        ],
        json!({"playerUniqueId": "p1", "transactionId": "rf1", "reverseTransactionId": "t1", "transactionTime": "2025-03-14T10:00:00Z"}),
    )
}

fn order() -> Value {
    object(
        &["playerUniqueId", "orderId", "orderDate", "totalPaid"],
        vec![
            ("playerUniqueId", id()),
            ("orderId", id()),
            ("orderDate", time()),
            ("totalPaid", money()),
            ("totalPrice", money()),
            ("totalDiscount", money()),
            ("totalShipping", money()),
            ("totalTax", money()),
            (
                "lineItems",
                json!({"type": ["array", "object", "null"], "description": "An array (`{}` from the PHP SDK counts as empty)."}),
            ),
            ("holdReference", nullable("string")),
            (
                "redeemedAmount",
                json!({"type": ["number", "string", "null"], "description": "What the hold of `holdReference` pays; without a hold it must be 0 or null."}),
            ),
            ("extra", nullable("object")),
            ("guest", nullable("boolean")),
        ],
        json!({"playerUniqueId": "p1", "orderId": "o1", "orderDate": "2025-03-14T10:00:00Z", "totalPaid": 120}),
    )
}

fn batch() -> Value {
    object(
        &["operation", "body"],
        vec![
            (
                "method",
                json!({"type": ["string", "null"], "description": "The method of the operation's call: `POST` (any case; the SDKs send it), or `GET` for `balance`; anything else is refused (3003)."}),
            ),
            (
                "operation",
                json!({"type": "string", "description": "`cashback`, `redeem` or `balance` (any case)."}),
            ),
            ("params", json!({"description": "Ignored."})),
            (
                "body",
                json!({"description": "`cashback`/`redeem`: an array of 1 to 1,000 items with the single calls' v3 names; `balance`: `{\"playerUniqueIds\": [...]}`.",
                "oneOf": [{"type": "array", "minItems": 1, "maxItems": 1000}, {"type": "object", "required": ["playerUniqueIds"],
                    "properties": {"playerUniqueIds": {"type": "array", "minItems": 1, "maxItems": 1000}}}]}),
            ),
        ],
        json!({"method": "POST", "operation": "balance", "params": {}, "body": {"playerUniqueIds": ["p1"]}}),
    )
}

/// Every v3 request schema by component name.
pub fn schemas() -> Vec<(String, Value)> {
    [
        ("v3.Player", player()),
        ("v3.Event", event()),
        ("v3.Cashback", cashback()),
        ("v3.Hold", hold()),
        ("v3.Redeem", redeem()),
        ("v3.ManualTransaction", manual()),
        ("v3.Refund", refund()),
        ("v3.Order", order()),
        ("v3.Batch", batch()),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_owned(), s))
    .collect()
}
