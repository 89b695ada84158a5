//! Gameball API v3.0 bodies, as its server SDKs send them, rewritten into the
//! v4 items the domain parses: `playerUniqueId` → `customerId`, v3's field
//! names → v4's, `null` → absent (the SDKs send every field, `null` when
//! unset), tags as a comma-separated string → an array, and PHP's `{}` for an
//! empty array → `[]`. Pure: no I/O, every rule tested below.

use serde_json::{Map, Value};
use wire::ErrorCode;

/// Why a v3 body cannot be rewritten (answered as the v4 item's error would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable {
    pub code: ErrorCode,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> Untranslatable {
    Untranslatable {
        code: ErrorCode::InvalidValue,
        message: message.into(),
    }
}

type Translated = Result<Value, Untranslatable>;

/// One rewriting of a body.
pub type Step = fn(Value) -> Translated;

/// The body as an object without its `null` fields.
fn object(body: Value) -> Result<Map<String, Value>, Untranslatable> {
    match body {
        Value::Object(mut m) => {
            m.retain(|_, v| !v.is_null());
            Ok(m)
        }
        _ => Err(Untranslatable {
            code: ErrorCode::MalformedPayload,
            message: "body: must be a JSON object".into(),
        }),
    }
}

fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = m.remove(from) {
        m.insert(to.to_owned(), v);
    }
}

/// `playerUniqueId` → `customerId`; the channel-merge hints are dropped.
fn player_id(m: &mut Map<String, Value>) {
    rename(m, "playerUniqueId", "customerId");
}

/// Tags as Gameball v3 sends them (`"vip, gold"`) or as an array.
pub fn tags(v: Value) -> Value {
    match v {
        Value::String(s) => Value::Array(domain::customers::split_tags(&s)),
        other => other,
    }
}

/// A date the PHP SDK writes as `Y-m-d\TH:i:s` + `Z`: the day is what is kept.
fn day(v: Value) -> Value {
    match v {
        Value::String(s) if s.len() > 10 && s.as_bytes().get(10) == Some(&b'T') => {
            Value::String(s[..10].to_owned())
        }
        other => other,
    }
}

/// PHP's encoder turns every empty array into `{}`.
fn array(v: Value) -> Value {
    match v {
        Value::Object(m) if m.is_empty() => Value::Array(Vec::new()),
        other => other,
    }
}

/// `POST /player`: a customer upsert.
pub fn player(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    m.remove("levelOrder");
    if let Some(attributes) = m.remove("playerAttributes") {
        let Value::Object(mut a) = attributes else {
            return Err(invalid("playerAttributes: must be an object"));
        };
        a.retain(|_, v| !v.is_null());
        if let Some(Value::Object(custom)) = a.get_mut("custom") {
            custom.retain(|_, v| !v.is_null());
        }
        if let Some(t) = a.remove("tags") {
            a.insert("tags".into(), tags(t));
        }
        for date in ["dateOfBirth", "joinDate"] {
            if let Some(d) = a.remove(date) {
                a.insert(date.into(), day(d));
            }
        }
        m.insert("customerAttributes".into(), Value::Object(a));
    }
    Ok(Value::Object(m))
}

/// `POST /event`.
pub fn event(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    m.remove("email");
    m.remove("mobile");
    Ok(Value::Object(m))
}

/// `POST /transaction/cashback` and a `cashback` batch item (the names are v4's).
pub fn cashback(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    Ok(Value::Object(m))
}

/// `POST /transaction/hold`: `amount` is the money to hold.
pub fn hold(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    rename(&mut m, "amount", "amountToHold");
    Ok(Value::Object(m))
}

/// `POST /transaction/redeem` and a `redeem` batch item: `redeemedAmount` or a `holdReference`.
pub fn redeem(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    rename(&mut m, "redeemedAmount", "amount");
    Ok(Value::Object(m))
}

/// `POST /transaction/manual` (the names are v4's).
pub fn manual(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    Ok(Value::Object(m))
}

/// `POST /transaction/refund`: `transactionId` is the refund's own id,
/// `reverseTransactionId` (PHP: `reversedTransactionId`) the refunded one.
pub fn refund(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    rename(&mut m, "transactionId", "refundTransactionId");
    rename(&mut m, "reversedTransactionId", "reverseTransactionId");
    rename(&mut m, "amount", "refundAmount");
    Ok(Value::Object(m))
}

/// `POST /order`: a hold spent with the order becomes v4's `redemption`.
pub fn order(body: Value) -> Translated {
    let mut m = object(body)?;
    player_id(&mut m);
    for field in ["source", "discountCodes"] {
        m.remove(field);
    }
    if let Some(items) = m.remove("lineItems") {
        m.insert("lineItems".into(), array(items));
    }
    let hold = m.remove("holdReference");
    let redeemed = m.remove("redeemedAmount");
    if hold.is_none() && redeemed.is_some_and(|a| a.as_f64() != Some(0.0)) {
        return Err(invalid(
            "redeemedAmount: an order spends points through the holdReference of a hold made before it",
        ));
    }
    if let Some(reference) = hold {
        m.insert(
            "redemption".into(),
            serde_json::json!({ "pointsHoldReference": reference }),
        );
    }
    Ok(Value::Object(m))
}

/// The v3 batch operations and the v4 batch type each runs as.
pub fn batch_type(operation: &str) -> Option<wire::BatchType> {
    match operation.to_ascii_lowercase().as_str() {
        "cashback" => Some(wire::BatchType::Cashback),
        "redeem" => Some(wire::BatchType::Redeem),
        "balance" => Some(wire::BatchType::BalanceInquiry),
        _ => None,
    }
}

/// The batch's `method`: the one its operation's call takes — `POST` (any
/// case), or `GET` for `balance` — or none at all.
fn check_method(method: Option<Value>, batch_type: wire::BatchType) -> Result<(), Untranslatable> {
    let method = match method {
        None => return Ok(()),
        Some(Value::String(m)) => m,
        Some(_) => return Err(invalid("method: must be a string")),
    };
    let allowed: &[&str] = match batch_type {
        wire::BatchType::BalanceInquiry => &["POST", "GET"],
        _ => &["POST"],
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&method)) {
        return Ok(());
    }
    Err(invalid(format!(
        "method: the operation takes {}, not '{}'",
        allowed.join(" or "),
        domain::limits::quote(&method)
    )))
}

/// `POST /batch` `{"method", "operation", "params", "body"}`: the batch type
/// and its items rewritten as v4 items (a `balance` body is `{"playerUniqueIds": [...]}`).
pub fn batch(envelope: Value) -> Result<(wire::BatchType, Vec<Value>), Untranslatable> {
    let mut m = object(envelope)?;
    let operation = match m.remove("operation") {
        Some(Value::String(s)) => s,
        None => {
            return Err(Untranslatable {
                code: ErrorCode::MissingField,
                message: "operation: required".into(),
            });
        }
        Some(_) => return Err(invalid("operation: must be a string")),
    };
    let batch_type = batch_type(&operation).ok_or_else(|| {
        invalid(format!(
            "operation: must be cashback, redeem or balance, not '{}'",
            domain::limits::quote(&operation)
        ))
    })?;
    check_method(m.remove("method"), batch_type)?;
    let missing_body = || Untranslatable {
        code: ErrorCode::MalformedPayload,
        message: "body: required".into(),
    };
    let body = m.remove("body").ok_or_else(missing_body)?;
    let items = match (batch_type, body) {
        (wire::BatchType::BalanceInquiry, Value::Object(mut b)) => {
            match b.remove("playerUniqueIds") {
                Some(Value::Array(ids)) => ids
                    .into_iter()
                    .map(|id| serde_json::json!({ "customerId": id }))
                    .collect(),
                _ => {
                    return Err(Untranslatable {
                        code: ErrorCode::MalformedPayload,
                        message: "body.playerUniqueIds: must be an array".into(),
                    });
                }
            }
        }
        (wire::BatchType::BalanceInquiry, _) => {
            return Err(Untranslatable {
                code: ErrorCode::MalformedPayload,
                message: "body: must be {\"playerUniqueIds\": [...]}".into(),
            });
        }
        (t, Value::Array(items)) => {
            let each = if t == wire::BatchType::Cashback {
                cashback
            } else {
                redeem
            };
            // An item that is not an object stays as it is: it fails alone when the job runs.
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(_) => each(item).unwrap_or(Value::Null),
                    other => other,
                })
                .collect()
        }
        _ => {
            return Err(Untranslatable {
                code: ErrorCode::MalformedPayload,
                message: "body: must be an array of items".into(),
            });
        }
    };
    Ok((batch_type, items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_player_as_the_python_sdk_sends_it_is_a_customer_upsert() {
        let body = json!({"playerUniqueId": "p1", "playerAttributes": {
            "displayName": "Jane", "firstName": null, "lastName": null, "mobile": null,
            "email": "j@x.io", "gender": null, "dateOfBirth": "1990-01-02T00:00:00Z",
            "joinDate": null, "tags": "vip, gold,", "custom": {"tier": 1, "old": null}},
            "referrerCode": null, "levelOrder": null});
        let item = player(body).unwrap();
        assert_eq!(
            item,
            json!({"customerId": "p1", "customerAttributes": {"displayName": "Jane",
                "email": "j@x.io", "dateOfBirth": "1990-01-02", "tags": ["vip", "gold"],
                "custom": {"tier": 1}}})
        );
        let upsert = domain::customers::parse(item).unwrap();
        assert_eq!(upsert.customer_id.as_str(), "p1");
    }

    #[test]
    fn transactions_take_v4_names() {
        let t = "2025-01-01T00:00:00.000000Z";
        let hold = hold(json!({"playerUniqueId": "p", "amount": 5, "transactionTime": t})).unwrap();
        assert_eq!(hold["amountToHold"], 5);
        assert!(domain::ledger::parse::parse_hold(hold).is_ok());
        let redeem = redeem(json!({"playerUniqueId": "p", "transactionTime": t,
            "holdReference": null, "redeemedAmount": 3, "transactionId": "r1"}))
        .unwrap();
        assert_eq!(redeem["amount"], 3);
        assert!(domain::ledger::parse::parse_redeem(redeem).is_ok());
        for reversed in ["reverseTransactionId", "reversedTransactionId"] {
            let refund = refund(json!({"playerUniqueId": "p", "transactionId": "rf1",
                reversed: "o1", "transactionTime": t, "amount": null}))
            .unwrap();
            assert_eq!(refund["refundTransactionId"], "rf1");
            assert_eq!(refund["reverseTransactionId"], "o1");
            assert!(refund.get("refundAmount").is_none());
            assert!(domain::ledger::parse::parse_refund(refund).is_ok());
        }
        let manual = manual(json!({"playerUniqueId": "p", "amount": null, "points": 10,
            "transactionId": "m1", "transactionTime": t, "username": "u", "reason": "r"}))
        .unwrap();
        assert!(domain::ledger::parse::parse_manual(manual).is_ok());
    }

    #[test]
    fn an_order_spends_a_hold_and_php_empty_arrays_are_arrays() {
        let order = order(json!({"playerUniqueId": "p", "orderId": "o1",
            "orderDate": "2025-01-01T00:00:00Z", "totalPaid": 10, "lineItems": {},
            "discountCodes": {}, "holdReference": "h1", "redeemedAmount": 2, "source": 1}))
        .unwrap();
        assert_eq!(order["lineItems"], json!([]));
        assert_eq!(order["redemption"]["pointsHoldReference"], "h1");
        assert!(domain::ledger::parse::parse_order(order).is_ok());
        let without_hold = super::order(json!({"playerUniqueId": "p", "orderId": "o1",
            "orderDate": "2025-01-01T00:00:00Z", "totalPaid": 10, "redeemedAmount": 2}));
        assert_eq!(without_hold.unwrap_err().code, ErrorCode::InvalidValue);
    }

    #[test]
    fn batch_envelopes_become_v4_items() {
        let (t, items) = batch(
            json!({"method": "POST", "operation": "Balance", "params": {},
            "body": {"playerUniqueIds": ["a", "b"]}}),
        )
        .unwrap();
        assert_eq!(t, wire::BatchType::BalanceInquiry);
        assert_eq!(
            items,
            vec![json!({"customerId": "a"}), json!({"customerId": "b"})]
        );
        let (t, items) = batch(
            json!({"method": "POST", "operation": "redeem", "params": [],
            "body": [{"playerUniqueId": "a", "redeemedAmount": 1, "transactionId": "x",
                      "transactionTime": "2025-01-01T00:00:00Z", "email": null}, 7]}),
        )
        .unwrap();
        assert_eq!(t, wire::BatchType::Redeem);
        assert_eq!(items[0]["customerId"], "a");
        assert_eq!(items[0]["amount"], 1);
        assert_eq!(items[1], json!(7));
        assert_eq!(
            batch(json!({"operation": "orders", "body": []}))
                .unwrap_err()
                .code,
            ErrorCode::InvalidValue
        );
        assert_eq!(
            batch(json!({"operation": "balance", "body": []}))
                .unwrap_err()
                .code,
            ErrorCode::MalformedPayload
        );
    }

    #[test]
    fn a_batch_names_its_method_and_operation_boundedly() {
        let body = |method: Value, operation: &str| json!({"method": method, "operation": operation, "params": {}, "body": [{"playerUniqueId": "p"}]});
        assert!(batch(body(json!("post"), "cashback")).is_ok());
        assert!(batch(body(Value::Null, "redeem")).is_ok());
        assert!(
            batch(
                json!({"operation": "balance", "method": "GET", "body": {"playerUniqueIds": ["p"]}})
            )
            .is_ok()
        );
        let refused = batch(body(json!("DELETE"), "cashback")).unwrap_err();
        assert_eq!(
            refused.message,
            "method: the operation takes POST, not 'DELETE'"
        );
        let huge = "x".repeat(1_000_000);
        let refused = batch(body(json!("POST"), &huge)).unwrap_err();
        assert!(
            refused.message.len() < 300,
            "{} bytes",
            refused.message.len()
        );
    }
}
