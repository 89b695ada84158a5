//! Per-item outcomes: a success entry or a failure with its Gameball code, rendered as the status `response` entries.

use serde_json::Value;
use wire::ErrorCode;
pub use wire::Success;

/// Why one item failed: a code and a sentence naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    pub code: ErrorCode,
    pub message: String,
}

impl ItemFailure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ItemFailure {
        ItemFailure {
            code,
            message: message.into(),
        }
    }

    pub fn missing(field: &str) -> ItemFailure {
        ItemFailure::new(ErrorCode::MissingField, format!("{field}: required"))
    }

    pub fn invalid(message: impl Into<String>) -> ItemFailure {
        ItemFailure::new(ErrorCode::InvalidValue, message)
    }

    pub fn too_long(field: impl std::fmt::Display, max: usize) -> ItemFailure {
        ItemFailure::new(
            ErrorCode::LimitExceeded,
            format!("{field}: longer than {max} characters"),
        )
    }
}

/// Why an item could not be parsed, with the keys it claimed (for its failure entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub customer_id: Option<String>,
    pub key: Option<NaturalKey>,
    pub failure: ItemFailure,
}

impl Rejected {
    pub fn new(customer_id: Option<String>, failure: ItemFailure) -> Rejected {
        Rejected {
            customer_id,
            key: None,
            failure,
        }
    }

    pub fn with_key(mut self, key: Option<NaturalKey>) -> Rejected {
        self.key = key;
        self
    }
}

/// An item's own unique key besides the customer, repeated in its failure
/// entry: its `transactionId`, an order's `orderId`, a refund's `refundTransactionId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NaturalKey {
    Transaction(String),
    Order(String),
    Refund(String),
}

impl NaturalKey {
    pub fn transaction(value: impl Into<String>) -> NaturalKey {
        NaturalKey::Transaction(value.into())
    }

    pub fn order(value: impl Into<String>) -> NaturalKey {
        NaturalKey::Order(value.into())
    }
}

/// An item parsed into `T`, or why it failed.
pub type ParseResult<T> = Result<T, Rejected>;

/// The result of one item of a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// 0-based position in the job's `body`.
    pub index: u32,
    /// The customer id the item named (as given), for failure reports.
    pub customer_id: Option<String>,
    /// The item's natural key, for failure reports.
    pub key: Option<NaturalKey>,
    pub result: Result<Success, ItemFailure>,
}

impl Outcome {
    pub fn failed(index: u32, customer_id: Option<String>, failure: ItemFailure) -> Outcome {
        Outcome {
            index,
            customer_id,
            key: None,
            result: Err(failure),
        }
    }

    pub fn rejected(index: u32, r: Rejected) -> Outcome {
        Outcome {
            index,
            customer_id: r.customer_id,
            key: r.key,
            result: Err(r.failure),
        }
    }

    pub fn with_key(mut self, key: Option<NaturalKey>) -> Outcome {
        self.key = key;
        self
    }

    pub fn succeeded(index: u32, success: Success) -> Outcome {
        Outcome {
            index,
            customer_id: None,
            key: None,
            result: Ok(success),
        }
    }

    pub fn is_success(&self) -> bool {
        self.result.is_ok()
    }

    /// The entry as it appears in `response.successful` or `response.failed`.
    pub fn entry(&self) -> Value {
        let mut text = String::new();
        self.write_entry(&mut text);
        serde_json::from_str(&text).expect("entries are valid JSON")
    }

    /// Appends the entry's JSON text (`wire::SuccessEntry` or
    /// `wire::FailureEntry`): `index` first, then the fields.
    pub fn write_entry(&self, buf: &mut String) {
        let text = match &self.result {
            Ok(success) => serde_json::to_string(&wire::SuccessEntry {
                index: self.index,
                success,
            }),
            Err(f) => {
                use crate::limits::quote;
                // An offending value may be huge: the entry quotes a bounded part of it.
                let (mut transaction_id, mut order_id, mut refund_transaction_id) =
                    (None, None, None);
                match &self.key {
                    Some(NaturalKey::Transaction(v)) => transaction_id = Some(quote(v)),
                    Some(NaturalKey::Order(v)) => order_id = Some(quote(v)),
                    Some(NaturalKey::Refund(v)) => refund_transaction_id = Some(quote(v)),
                    None => {}
                }
                serde_json::to_string(&wire::FailureEntry {
                    index: self.index,
                    customer_id: self.customer_id.as_deref().map(quote),
                    transaction_id,
                    order_id,
                    refund_transaction_id,
                    code: f.code.code(),
                    error: &f.message,
                    message: &f.message,
                })
            }
        };
        buf.push_str(&text.expect("plain data serializes"));
    }
}

/// A chunk's outcomes rendered as two comma-joined JSON fragments (no brackets),
/// so a status read can concatenate chunks without re-parsing them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderedOutcomes {
    pub successful: String,
    pub failed: String,
    pub succeeded: u32,
    pub errored: u32,
}

pub fn render(outcomes: &[Outcome]) -> RenderedOutcomes {
    let mut r = RenderedOutcomes::default();
    for o in outcomes {
        let (buf, n) = if o.is_success() {
            (&mut r.successful, &mut r.succeeded)
        } else {
            (&mut r.failed, &mut r.errored)
        };
        if !buf.is_empty() {
            buf.push(',');
        }
        o.write_entry(buf);
        *n = n.saturating_add(1);
    }
    r
}

/// Joins fragments of several chunks into one JSON array text.
pub fn join_fragments<'a>(fragments: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for f in fragments.into_iter().filter(|f| !f.is_empty()) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(f);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failed_entry_carries_index_customer_code_and_the_sentence_twice() {
        let o = Outcome::failed(
            3,
            Some("c1".into()),
            ItemFailure::invalid("customerAttributes.dateOfBirth: not a date (YYYY-MM-DD)"),
        );
        assert_eq!(
            o.entry(),
            json!({"index": 3, "customerId": "c1", "code": 3003,
                   "error": "customerAttributes.dateOfBirth: not a date (YYYY-MM-DD)",
                   "message": "customerAttributes.dateOfBirth: not a date (YYYY-MM-DD)"})
        );
    }

    #[test]
    fn failed_entries_quote_at_most_a_hundred_characters_of_a_long_value() {
        let long = "x".repeat(15_000);
        let o = Outcome::failed(
            0,
            Some(long.clone()),
            ItemFailure::too_long("customerId", 200),
        )
        .with_key(Some(NaturalKey::transaction(long)));
        let e = o.entry();
        for field in ["customerId", "transactionId"] {
            let quoted = e[field].as_str().unwrap();
            assert_eq!(quoted.chars().count(), 101, "{field}");
            assert!(quoted.ends_with('…'));
        }
        let id = "y".repeat(200);
        let whole = Outcome::failed(1, Some(id.clone()), ItemFailure::missing("amount")).entry();
        assert_eq!(
            whole["customerId"],
            id.as_str(),
            "a valid id is quoted whole"
        );
    }

    #[test]
    fn render_splits_in_order_and_join_builds_arrays() {
        let ok = Success::Customer {
            customer_id: "a".into(),
            gameball_id: 7,
            message: "Customer created successfully",
        };
        let outs = vec![
            Outcome::succeeded(0, ok.clone()),
            Outcome::failed(1, None, ItemFailure::missing("customerId")),
            Outcome::succeeded(2, ok),
        ];
        let r = render(&outs);
        assert_eq!((r.succeeded, r.errored), (2, 1));
        let joined = join_fragments([r.successful.as_str(), "", r.successful.as_str()]);
        let v: Value = serde_json::from_str(&joined).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 4);
        assert_eq!(v[1]["index"], 2);
        assert_eq!(
            v[0],
            json!({"index": 0, "customerId": "a", "gameballId": 7, "message": "Customer created successfully"})
        );
        assert!(
            r.successful.starts_with("{\"index\":0,"),
            "index comes first"
        );
        assert_eq!(join_fragments(["", ""]), "[]");
        let failed: Value = serde_json::from_str(&join_fragments([r.failed.as_str()])).unwrap();
        assert_eq!(failed[0]["customerId"], Value::Null);
        assert_eq!(failed[0]["code"], 3000);
    }
}
