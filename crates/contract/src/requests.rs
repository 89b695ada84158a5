//! Request schemas: every batch item and single-call body, stated from the
//! domain's own field tables and limits (the parsers in `crates/domain` are the
//! authority; each schema's example is checked against its parser in the tests).

use domain::customers::{ATTRIBUTE_FIELDS, ATTRIBUTES, TOP_LEVEL, TOP_LEVEL_ALIASES};
use domain::fields::Kind;
use domain::ledger::parse::{MAX_REASON_CHARS, MAX_TRANSACTION_ID_CHARS};
use domain::limits::{MAX_MONEY_UNITS, MAX_POINTS};
use domain::settings::MAX_DAYS;
use serde_json::{Map, Value, json};
use wire::BatchType;

/// No control characters (U+0000–U+001F, U+007F–U+009F).
const NO_CONTROL: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": NO_CONTROL})
}

fn id(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": MAX_TRANSACTION_ID_CHARS,
           "pattern": NO_CONTROL, "description": description})
}

/// Money: a JSON number or a numeric string, at most 10^12 and 6 decimal places.
fn money(minimum: i64, description: &str) -> Value {
    json!({
        "description": format!("{description} Money: a number (or numeric string) with at most 6 decimal places."),
        "oneOf": [
            {"type": "number", "minimum": minimum, "maximum": MAX_MONEY_UNITS},
            {"type": "string", "pattern": "^-?[0-9]{1,13}(\\.[0-9]{1,6})?$"}
        ]
    })
}

fn points(minimum: i64, description: &str) -> Value {
    json!({"type": "integer", "minimum": minimum, "maximum": MAX_POINTS, "description": description})
}

fn instant(description: &str) -> Value {
    json!({"type": "string", "format": "date-time",
           "description": format!("{description} RFC 3339; at most 5 minutes in the future (9007).")})
}

fn days(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": MAX_DAYS, "description": description})
}

fn customer_id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": domain::CustomerId::MAX_CHARS,
           "pattern": NO_CONTROL, "description": "The merchant's id of the customer (compared byte for byte)."})
}

/// A field of a customer profile, from its kind in the domain's table (`null` clears it).
fn kind(k: Kind) -> Value {
    let schema = match k {
        Kind::Text(max) => text(max),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Date => json!({"type": "string", "format": "date"}),
        Kind::DateOrTimestamp => {
            json!({"type": "string", "description": "YYYY-MM-DD or an RFC 3339 timestamp."})
        }
        Kind::NonNegativeDecimal => money(0, ""),
        Kind::NonNegativeInteger => points(0, ""),
        Kind::Array => json!({"type": "array"}),
        Kind::OneOf(values) => json!({"type": "string", "enum": values}),
        Kind::Object => json!({"type": "object"}),
        Kind::Tags => json!({"type": "array", "maxItems": 100,
            "items": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_CONTROL}}),
    };
    json!({"oneOf": [schema, {"type": "null"}]})
}

/// Exactly one of these fields is present.
fn exactly_one_of(fields: &[&str]) -> Value {
    Value::Array(fields.iter().map(|f| json!({"required": [f]})).collect())
}

fn object(required: &[&str], properties: Vec<(&str, Value)>, example: Value) -> Value {
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
    json!({"type": "object", "required": required, "properties": properties, "examples": [example]})
}

fn customer() -> Value {
    let attributes: Map<String, Value> = ATTRIBUTE_FIELDS
        .iter()
        .map(|(name, k)| ((*name).to_owned(), kind(*k)))
        .collect();
    let mut properties = vec![("customerId", customer_id())];
    properties.extend(TOP_LEVEL.iter().map(|(name, k)| (*name, kind(*k))));
    for (alias, attribute) in TOP_LEVEL_ALIASES {
        if let Some((_, k)) = ATTRIBUTE_FIELDS.iter().find(|(a, _)| a == attribute) {
            properties.push((alias, kind(*k)));
        }
    }
    properties.push((
        ATTRIBUTES,
        json!({"type": "object", "properties": attributes,
               "description": "Profile attributes; `custom` merges key by key."}),
    ));
    let mut schema = object(
        &["customerId"],
        properties,
        json!({"customerId": "cust-1", "email": "jane@example.com",
               "customerAttributes": {"displayName": "Jane Doe", "tags": ["vip"], "custom": {"tier": "gold"}}}),
    );
    schema["description"] = json!(
        "Upserts merge: fields present overwrite, absent fields keep their value, `null` clears (RFC 7396). \
         Top-level `name`, `gender`, `dateOfBirth`, `joinDate`, `tags`, `custom` set the same attributes \
         (`name` → `displayName`). Unknown fields are ignored."
    );
    schema
}

fn events() -> Value {
    object(
        &["customerId", "events"],
        vec![
            ("customerId", customer_id()),
            (
                "events",
                json!({"type": "object", "minProperties": 1,
                       "propertyNames": {"minLength": 1, "maxLength": domain::events::MAX_NAME_CHARS},
                       "additionalProperties": {"oneOf": [{"type": "object"}, {"type": "null"}]},
                       "description": "Event name → its metadata (at most 16 KiB in all)."}),
            ),
        ],
        json!({"customerId": "cust-1", "events": {"review": {"stars": 5}}}),
    )
}

fn balance_inquiry() -> Value {
    object(
        &["customerId"],
        vec![("customerId", customer_id())],
        json!({"customerId": "cust-1"}),
    )
}

fn adjustment() -> Value {
    object(
        &["customerId", "amount"],
        vec![
            ("customerId", customer_id()),
            (
                "amount",
                points(-MAX_POINTS, "Signed points to add or deduct; not 0."),
            ),
            (
                "transactionId",
                id("Unique per tenant; `adj-<jobId>-<index>` when absent."),
            ),
            ("reason", text(MAX_REASON_CHARS)),
            (
                "expiryAfter",
                days("Days before the added points expire (additions only)."),
            ),
        ],
        json!({"customerId": "cust-1", "amount": 50, "transactionId": "adj-1", "reason": "goodwill"}),
    )
}

fn return_window(field: &str) -> (&str, Value) {
    (
        field,
        json!({"type": "object", "properties": {"returnWindow": days("Days the points stay pending.")}}),
    )
}

fn cashback() -> Value {
    object(
        &["customerId", "transactionId", "transactionTime", "amount"],
        vec![
            ("customerId", customer_id()),
            ("transactionId", id("Unique per tenant (9004).")),
            ("transactionTime", instant("When the purchase happened.")),
            ("amount", money(0, "The amount paid; earns points.")),
            return_window("configurations"),
        ],
        json!({"customerId": "cust-1", "transactionId": "order-1001",
               "transactionTime": "2025-03-14T10:00:00Z", "amount": 25}),
    )
}

fn redeem() -> Value {
    let mut schema = object(
        &["customerId", "transactionId", "transactionTime"],
        vec![
            ("customerId", customer_id()),
            ("transactionId", id("Unique per tenant (9004).")),
            ("transactionTime", instant("When the redemption happened.")),
            ("amount", money(0, "Money to pay with points.")),
            ("points", points(1, "Points to spend.")),
            ("holdReference", id("A hold to spend.")),
        ],
        json!({"customerId": "cust-1", "transactionId": "redeem-1",
               "transactionTime": "2025-03-14T10:00:00Z", "points": 50}),
    );
    schema["description"] = json!("Exactly one of `amount`, `points` or `holdReference`.");
    schema["oneOf"] = exactly_one_of(&["amount", "points", "holdReference"]);
    schema
}

fn order() -> Value {
    let mut properties = vec![
        ("customerId", customer_id()),
        (
            "orderId",
            id("Unique per tenant, among transaction ids too (9004)."),
        ),
        ("orderDate", instant("When the order was placed.")),
        (
            "totalPaid",
            money(0, "What the customer paid; earns points."),
        ),
    ];
    for field in ["totalPrice", "totalDiscount", "totalShipping", "totalTax"] {
        properties.push((field, money(0, "Recorded, not used.")));
    }
    properties.extend([
        ("lineItems", json!({"type": "array"})),
        ("extra", json!({"type": "object"})),
        ("merchant", json!({"type": "object"})),
        ("guest", json!({"type": "boolean"})),
        ("channel", text(50)),
        (
            "redemption",
            json!({"type": "object", "properties": {"pointsHoldReference": id("A hold the order spends.")}}),
        ),
        return_window("cashbackConfigurations"),
    ]);
    object(
        &["customerId", "orderId", "orderDate", "totalPaid"],
        properties,
        json!({"customerId": "cust-1", "orderId": "o-1", "orderDate": "2025-03-14T10:00:00Z",
               "totalPaid": 120.5, "totalPrice": 130}),
    )
}

fn order_id_item() -> Value {
    json!({"oneOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_TRANSACTION_ID_CHARS, "pattern": NO_CONTROL},
        {"type": "integer"}
    ], "description": "An order id.", "examples": ["o-1"]})
}

fn manual() -> Value {
    let mut schema = object(
        &["customerId", "transactionId", "username", "reason"],
        vec![
            ("customerId", customer_id()),
            ("transactionId", id("Unique per tenant (9004).")),
            ("username", text(MAX_REASON_CHARS)),
            ("reason", text(MAX_REASON_CHARS)),
            ("points", points(-MAX_POINTS, "Signed points; not 0.")),
            (
                "amount",
                money(
                    -MAX_MONEY_UNITS,
                    "Signed money, converted at `redemptionFactor`.",
                ),
            ),
            ("expiryAfter", days("Days before added points expire.")),
        ],
        json!({"customerId": "cust-1", "transactionId": "manual-1", "username": "agent",
               "reason": "goodwill", "points": 100}),
    );
    schema["description"] = json!("Exactly one of `points` or `amount`.");
    schema["oneOf"] = exactly_one_of(&["points", "amount"]);
    schema
}

fn refund() -> Value {
    object(
        &[
            "customerId",
            "refundTransactionId",
            "reverseTransactionId",
            "transactionTime",
        ],
        vec![
            ("customerId", customer_id()),
            (
                "refundTransactionId",
                id("The refund's own id, unique per tenant."),
            ),
            (
                "reverseTransactionId",
                id("The cashback, order or redemption refunded."),
            ),
            ("transactionTime", instant("When the refund happened.")),
            (
                "refundAmount",
                money(0, "What is refunded; absent: all that is left."),
            ),
        ],
        json!({"customerId": "cust-1", "refundTransactionId": "refund-1",
               "reverseTransactionId": "order-1001", "transactionTime": "2025-03-14T10:00:00Z"}),
    )
}

fn hold() -> Value {
    let mut schema = object(
        &["customerId", "transactionTime"],
        vec![
            ("customerId", customer_id()),
            ("transactionTime", instant("When the hold is made.")),
            ("pointsToHold", points(1, "Points to reserve.")),
            (
                "amountToHold",
                money(0, "Money to reserve, converted at `redemptionFactor`."),
            ),
        ],
        json!({"customerId": "cust-1", "transactionTime": "2025-03-14T10:00:00Z", "pointsToHold": 20}),
    );
    schema["description"] = json!("Exactly one of `pointsToHold` or `amountToHold`.");
    schema["oneOf"] = exactly_one_of(&["pointsToHold", "amountToHold"]);
    schema
}

fn reward_preview() -> Value {
    let mut schema = object(
        &["totalPaid"],
        vec![
            ("customerId", customer_id()),
            ("totalPaid", money(0, "What the order pays; earns points.")),
        ],
        json!({"customerId": "cust-1", "totalPaid": 90, "totalPrice": 100}),
    );
    schema["description"] =
        json!("An order as `POST /orders` takes it; only `totalPaid` (and `customerId`) are read.");
    schema
}

fn customer_tags() -> Value {
    object(
        &["tags"],
        vec![(
            "tags",
            json!({"description": "Tag names (each 1–100 characters), as an array or a comma-separated string.",
            "oneOf": [
                {"type": "array", "minItems": 1, "maxItems": domain::customers::MAX_TAGS,
                 "items": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_CONTROL}},
                {"type": "string", "minLength": 1}
            ]}),
        )],
        json!({"tags": ["vip", "newsletter"]}),
    )
}

fn webhook_endpoint() -> Value {
    use domain::webhooks::{EventType, MAX_URL_CHARS};
    object(
        &["url"],
        vec![
            (
                "url",
                json!({"description": "Where events are POSTed: an http or https URL without credentials or fragment, whose host is a public address (unless the server runs with `--webhook-allow-private`).",
                "type": "string", "format": "uri", "minLength": 1, "maxLength": MAX_URL_CHARS}),
            ),
            (
                "events",
                json!({"description": "The events sent to it (default: all three).",
                "type": "array", "minItems": 1, "uniqueItems": true,
                "items": {"type": "string", "enum": EventType::ALL.map(EventType::as_str)}}),
            ),
        ],
        json!({"url": "https://hooks.example.com/loyalbatch", "events": ["batch.completed", "batch.failed"]}),
    )
}

/// The component name of a batch type's item schema.
pub fn item_schema_name(t: BatchType) -> &'static str {
    match t {
        BatchType::Customers => "CustomerUpsert",
        BatchType::Events => "CustomerEvents",
        BatchType::BalanceInquiry => "BalanceInquiry",
        BatchType::BalanceAdjustment => "BalanceAdjustment",
        BatchType::Cashback => "Cashback",
        BatchType::Redeem => "Redemption",
        BatchType::Orders => "Order",
        BatchType::OrderTransactions => "OrderId",
    }
}

/// The component name of a batch type's request body.
pub fn batch_schema_name(t: BatchType) -> String {
    format!("{}Batch", item_schema_name(t))
}

fn batch(t: BatchType, max_items: usize) -> Value {
    json!({
        "type": "object",
        "required": ["body"],
        "properties": {"body": {
            "type": "array", "minItems": 1, "maxItems": max_items,
            "items": {"$ref": format!("#/components/schemas/{}", item_schema_name(t))}
        }},
        "description": "The items, applied in order; each fails alone with its own code."
    })
}

/// Every request schema by component name.
pub fn schemas(max_items: usize) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = vec![
        ("CustomerUpsert".into(), customer()),
        ("CustomerEvents".into(), events()),
        ("BalanceInquiry".into(), balance_inquiry()),
        ("BalanceAdjustment".into(), adjustment()),
        ("Cashback".into(), cashback()),
        ("Redemption".into(), redeem()),
        ("Order".into(), order()),
        ("OrderId".into(), order_id_item()),
        ("ManualTransaction".into(), manual()),
        ("Refund".into(), refund()),
        ("Hold".into(), hold()),
        ("CustomerTags".into(), customer_tags()),
        ("RewardPreviewRequest".into(), reward_preview()),
        ("WebhookEndpoint".into(), webhook_endpoint()),
    ];
    out.extend(
        BatchType::ALL
            .into_iter()
            .map(|t| (batch_schema_name(t), batch(t, max_items))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ledger::parse as ledger;

    fn example(name: &str) -> Value {
        let all = schemas(1000);
        let (_, schema) = all.iter().find(|(n, _)| n == name).unwrap();
        schema["examples"][0].clone()
    }

    #[test]
    fn every_documented_example_is_accepted_by_its_parser() {
        assert!(domain::customers::parse(example("CustomerUpsert")).is_ok());
        assert!(domain::events::parse(example("CustomerEvents")).is_ok());
        assert!(ledger::parse_balance(example("BalanceInquiry")).is_ok());
        assert!(ledger::parse_adjustment(example("BalanceAdjustment")).is_ok());
        assert!(ledger::parse_cashback(example("Cashback")).is_ok());
        assert!(ledger::parse_redeem(example("Redemption")).is_ok());
        assert!(ledger::parse_order(example("Order")).is_ok());
        assert!(ledger::parse_order_id(example("OrderId")).is_ok());
        assert!(ledger::parse_manual(example("ManualTransaction")).is_ok());
        assert!(ledger::parse_refund(example("Refund")).is_ok());
        assert!(ledger::parse_hold(example("Hold")).is_ok());
        assert!(ledger::parse_reward_preview(example("RewardPreviewRequest")).is_ok());
    }

    #[test]
    fn a_required_field_of_each_schema_is_required_by_its_parser() {
        let without = |name: &str, field: &str| {
            let mut e = example(name);
            e.as_object_mut().unwrap().remove(field);
            e
        };
        type Refuses = fn(Value) -> bool;
        let cases: [(&str, Refuses); 6] = [
            ("Cashback", |v| ledger::parse_cashback(v).is_err()),
            ("Redemption", |v| ledger::parse_redeem(v).is_err()),
            ("Order", |v| ledger::parse_order(v).is_err()),
            ("ManualTransaction", |v| ledger::parse_manual(v).is_err()),
            ("Refund", |v| ledger::parse_refund(v).is_err()),
            ("Hold", |v| ledger::parse_hold(v).is_err()),
        ];
        let all = schemas(1000);
        for (name, refuses) in cases {
            let (_, schema) = all.iter().find(|(n, _)| n == name).unwrap();
            for field in schema["required"].as_array().unwrap() {
                let field = field.as_str().unwrap();
                assert!(refuses(without(name, field)), "{name} without {field}");
            }
        }
    }
}
