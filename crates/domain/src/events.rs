//! Events (SPEC §5.2): a customer and a non-empty map of event name → metadata.

use crate::ids::{CustomerId, reported_customer_id};
use crate::outcome::{ItemFailure, ParseResult, Rejected};
use serde_json::Value;
use wire::ErrorCode;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// One event: its name and its metadata as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub metadata: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsItem {
    pub customer_id: CustomerId,
    /// In name order (a JSON object's keys have none of their own).
    pub events: Vec<Event>,
}

/// Parses one item of an `events` batch or a `POST /events` body.
pub fn parse(item: Value) -> ParseResult<EventsItem> {
    let Value::Object(obj) = item else {
        return Err(Rejected::new(
            None,
            ItemFailure::invalid("item: must be a JSON object"),
        ));
    };
    let customer_id = match CustomerId::from_item(&obj) {
        Ok(id) => id,
        Err(f) => return Err(Rejected::new(reported_customer_id(&obj), f)),
    };
    match parse_events(obj) {
        Ok(events) => Ok(EventsItem {
            customer_id,
            events,
        }),
        Err(f) => Err(Rejected::new(Some(customer_id.into_string()), f)),
    }
}

fn parse_events(mut obj: serde_json::Map<String, Value>) -> Result<Vec<Event>, ItemFailure> {
    let events = match obj.remove("events") {
        None | Some(Value::Null) => return Err(ItemFailure::missing("events")),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ItemFailure::invalid(
                "events: must be an object of event name → metadata",
            ));
        }
    };
    if events.is_empty() {
        return Err(ItemFailure::invalid("events: must name at least one event"));
    }
    let mut parsed = Vec::with_capacity(events.len());
    let mut metadata_bytes: usize = 0;
    for (name, metadata) in events {
        if name.trim().is_empty() {
            return Err(ItemFailure::invalid(
                "events: an event name must not be empty",
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ItemFailure::too_long(
                format_args!("events.{}", crate::limits::quote(&name)),
                MAX_NAME_CHARS,
            ));
        }
        crate::fields::no_control(&"events: an event name", &name)?;
        let metadata = if metadata.is_null() {
            "{}".to_owned()
        } else {
            metadata.to_string()
        };
        metadata_bytes = metadata_bytes.saturating_add(metadata.len());
        parsed.push(Event { name, metadata });
    }
    if metadata_bytes > MAX_METADATA_BYTES {
        return Err(ItemFailure::new(
            ErrorCode::LimitExceeded,
            format!("events: metadata larger than {MAX_METADATA_BYTES} bytes"),
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failure(item: Value) -> ItemFailure {
        parse(item).unwrap_err().failure
    }

    #[test]
    fn parses_every_event_with_any_json_metadata() {
        let item = parse(json!({"customerId": "c", "events": {
            "write_review": {"product_id": "1653503260", "review": "5 Stars"},
            "login": null, "score": 7}}))
        .unwrap();
        assert_eq!(item.customer_id.as_str(), "c");
        let names: Vec<_> = item.events.iter().map(|e| e.name.as_str()).collect();
        // A JSON object has no order: events come in name order.
        assert_eq!(names, ["login", "score", "write_review"]);
        assert_eq!(item.events[0].metadata, "{}");
        assert_eq!(item.events[1].metadata, "7");
    }

    #[test]
    fn events_must_be_a_non_empty_object() {
        assert_eq!(
            failure(json!({"customerId": "c"})).message,
            "events: required"
        );
        assert_eq!(
            failure(json!({"customerId": "c"})).code,
            ErrorCode::MissingField
        );
        assert_eq!(
            failure(json!({"customerId": "c", "events": {}})).code,
            ErrorCode::InvalidValue
        );
        assert_eq!(
            failure(json!({"customerId": "c", "events": ["a"]})).code,
            ErrorCode::InvalidValue
        );
        assert_eq!(
            failure(json!({"events": {"a": {}}})).code,
            ErrorCode::MissingField
        );
    }

    #[test]
    fn names_are_limited_to_one_hundred_characters() {
        let ok = "n".repeat(100);
        assert!(parse(json!({"customerId": "c", "events": {ok: {}}})).is_ok());
        let long = "n".repeat(101);
        let e = failure(json!({"customerId": "c", "events": {long: {}}}));
        assert_eq!(e.code, ErrorCode::LimitExceeded);
        assert_eq!(
            failure(json!({"customerId": "c", "events": {" ": {}}})).code,
            ErrorCode::InvalidValue
        );
    }

    #[test]
    fn metadata_is_limited_to_sixteen_kib_per_item() {
        let big = "x".repeat(MAX_METADATA_BYTES);
        let e = failure(json!({"customerId": "c", "events": {"a": {"blob": big}}}));
        assert_eq!(e.code, ErrorCode::LimitExceeded);
        assert_eq!(e.message, "events: metadata larger than 16384 bytes");
        let fits = "x".repeat(MAX_METADATA_BYTES - 20);
        assert!(parse(json!({"customerId": "c", "events": {"a": {"b": fits}}})).is_ok());
    }
}
