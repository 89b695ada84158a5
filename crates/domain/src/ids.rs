//! Identifier newtypes parsed at the edge.

use crate::outcome::ItemFailure;
use serde_json::Value;
use std::fmt;

/// A merchant's customer id: 1–200 characters, an identifier
/// ([`crate::fields::identifier`]); compared byte for byte (no Unicode normalisation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(String);

impl CustomerId {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(s: &str) -> Result<CustomerId, ItemFailure> {
        if s.trim().is_empty() {
            return Err(ItemFailure::invalid("customerId: must not be empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ItemFailure::too_long("customerId", Self::MAX_CHARS));
        }
        crate::fields::identifier(&"customerId", s)?;
        Ok(CustomerId(s.to_owned()))
    }

    /// Reads `customerId` from an item object: required, a string.
    pub fn from_item(item: &serde_json::Map<String, Value>) -> Result<CustomerId, ItemFailure> {
        match item.get("customerId") {
            None | Some(Value::Null) => Err(ItemFailure::missing("customerId")),
            Some(Value::String(s)) => CustomerId::parse(s),
            Some(_) => Err(ItemFailure::invalid("customerId: must be a string")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `customerId` an item claimed, for failure reports, even when it is invalid.
pub fn reported_customer_id(item: &serde_json::Map<String, Value>) -> Option<String> {
    match item.get("customerId")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::ErrorCode;

    #[test]
    fn accepts_one_to_two_hundred_characters() {
        assert_eq!(CustomerId::parse("a").unwrap().as_str(), "a");
        assert!(CustomerId::parse(&"é".repeat(200)).is_ok());
        let long = CustomerId::parse(&"x".repeat(201)).unwrap_err();
        assert_eq!(long.code, ErrorCode::LimitExceeded);
        assert!(long.message.starts_with("customerId"));
        assert_eq!(
            CustomerId::parse(" ").unwrap_err().code,
            ErrorCode::InvalidValue
        );
        let nul = CustomerId::parse("a\u{0}b").unwrap_err();
        assert_eq!(nul.code, ErrorCode::InvalidValue);
        assert_eq!(
            nul.message,
            "customerId: must not contain control characters"
        );
        assert!(CustomerId::parse("tab\there").is_err());
    }

    #[test]
    fn from_item_requires_a_string() {
        let missing = serde_json::json!({});
        let err = CustomerId::from_item(missing.as_object().unwrap()).unwrap_err();
        assert_eq!(err.code, ErrorCode::MissingField);
        assert_eq!(err.message, "customerId: required");
        let number = serde_json::json!({"customerId": 5});
        let err = CustomerId::from_item(number.as_object().unwrap()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidValue);
        assert_eq!(
            reported_customer_id(number.as_object().unwrap()).as_deref(),
            Some("5")
        );
    }
}
