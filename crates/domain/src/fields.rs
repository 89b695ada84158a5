//! Field validators shared by the item parsers: each names the field's path in its error.

use crate::outcome::ItemFailure;
use rust_decimal::Decimal;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// What a field must hold.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string of at most this many characters.
    Text(usize),
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD` or an RFC 3339 timestamp.
    DateOrTimestamp,
    /// A decimal number ≥ 0.
    NonNegativeDecimal,
    /// An integer ≥ 0.
    NonNegativeInteger,
    /// Any JSON array.
    Array,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A JSON object (its keys are the merchant's own).
    Object,
    /// An array of at most 100 strings of 1–100 characters.
    Tags,
}

/// Checks `value` against `kind`; `path` names the field in errors.
/// `null` is allowed everywhere: in an upsert it clears the field.
/// `path` is only formatted when the value is wrong (the valid path allocates nothing).
pub fn check(path: &dyn fmt::Display, kind: Kind, value: &Value) -> Result<(), ItemFailure> {
    if value.is_null() {
        return Ok(());
    }
    match kind {
        Kind::Text(max) => {
            let s = expect_str(path, value)?;
            if s.chars().count() > max {
                return Err(ItemFailure::too_long(path, max));
            }
        }
        Kind::Bool => {
            if !value.is_boolean() {
                return Err(ItemFailure::invalid(format!(
                    "{path}: must be true or false"
                )));
            }
        }
        Kind::Date => {
            parse_date(expect_str(path, value)?)
                .ok_or_else(|| ItemFailure::invalid(format!("{path}: not a date (YYYY-MM-DD)")))?;
        }
        Kind::DateOrTimestamp => {
            let s = expect_str(path, value)?;
            if parse_date(s).is_none() && parse_timestamp(s).is_none() {
                return Err(ItemFailure::invalid(format!(
                    "{path}: not a date (YYYY-MM-DD) or timestamp (RFC 3339)"
                )));
            }
        }
        Kind::NonNegativeDecimal => {
            let d = decimal(path, value)?;
            if d.is_sign_negative() && !d.is_zero() {
                return Err(ItemFailure::invalid(format!(
                    "{path}: must not be negative"
                )));
            }
        }
        Kind::NonNegativeInteger => {
            if value.as_u64().is_none() {
                return Err(ItemFailure::invalid(format!(
                    "{path}: must be a whole number ≥ 0"
                )));
            }
        }
        Kind::Array => {
            if !value.is_array() {
                return Err(ItemFailure::invalid(format!("{path}: must be an array")));
            }
        }
        Kind::OneOf(allowed) => {
            let s = expect_str(path, value)?;
            if !allowed.contains(&s) {
                return Err(ItemFailure::invalid(format!(
                    "{path}: must be one of {}",
                    allowed.join(", ")
                )));
            }
        }
        Kind::Object => {
            if !value.is_object() {
                return Err(ItemFailure::invalid(format!("{path}: must be an object")));
            }
        }
        Kind::Tags => {
            let tags = value.as_array().ok_or_else(|| {
                ItemFailure::invalid(format!("{path}: must be an array of strings"))
            })?;
            if tags.len() > 100 {
                return Err(ItemFailure::new(
                    wire::ErrorCode::LimitExceeded,
                    format!("{path}: more than 100 tags"),
                ));
            }
            for (i, t) in tags.iter().enumerate() {
                let p = format_args!("{path}[{i}]");
                let s = expect_str(&p, t)?;
                if s.trim().is_empty() {
                    return Err(ItemFailure::invalid(format!("{p}: must not be empty")));
                }
                if s.chars().count() > 100 {
                    return Err(ItemFailure::too_long(p, 100));
                }
            }
        }
    }
    Ok(())
}

fn expect_str<'a>(path: &dyn fmt::Display, value: &'a Value) -> Result<&'a str, ItemFailure> {
    value
        .as_str()
        .ok_or_else(|| ItemFailure::invalid(format!("{path}: must be a string")))
}

/// A JSON number (or numeric string) as an exact decimal.
pub fn decimal(path: &dyn fmt::Display, value: &Value) -> Result<Decimal, ItemFailure> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(ItemFailure::invalid(format!("{path}: must be a number"))),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| ItemFailure::invalid(format!("{path}: must be a number")))
}

pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

/// RFC 3339 with an offset; without an offset the time is UTC (SPEC §1).
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let naive = format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(s, naive)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wire::ErrorCode;

    fn code(kind: Kind, v: Value) -> Option<ErrorCode> {
        check(&"f", kind, &v).err().map(|e| e.code)
    }

    #[test]
    fn each_kind_accepts_its_values_and_rejects_others() {
        assert_eq!(code(Kind::Text(3), json!("abc")), None);
        assert_eq!(
            code(Kind::Text(3), json!("abcd")),
            Some(ErrorCode::LimitExceeded)
        );
        assert_eq!(code(Kind::Text(3), json!(1)), Some(ErrorCode::InvalidValue));
        assert_eq!(code(Kind::Bool, json!(true)), None);
        assert_eq!(
            code(Kind::Bool, json!("yes")),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(code(Kind::Date, json!("1990-01-31")), None);
        assert_eq!(
            code(Kind::Date, json!("1990-02-30")),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(
            code(Kind::Date, json!("01/01/1990")),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(
            code(Kind::DateOrTimestamp, json!("2025-03-14T10:00:00+02:00")),
            None
        );
        assert_eq!(code(Kind::DateOrTimestamp, json!("2025-03-14")), None);
        assert_eq!(
            code(Kind::DateOrTimestamp, json!("yesterday")),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(code(Kind::NonNegativeDecimal, json!(19.99)), None);
        assert_eq!(code(Kind::NonNegativeDecimal, json!(0)), None);
        assert_eq!(
            code(Kind::NonNegativeDecimal, json!(-0.01)),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(code(Kind::NonNegativeInteger, json!(3)), None);
        assert_eq!(
            code(Kind::NonNegativeInteger, json!(3.5)),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(
            code(Kind::NonNegativeInteger, json!(-1)),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(code(Kind::Array, json!([])), None);
        assert_eq!(code(Kind::Array, json!({})), Some(ErrorCode::InvalidValue));
        assert_eq!(code(Kind::OneOf(&["web", "pos"]), json!("pos")), None);
        assert_eq!(
            code(Kind::OneOf(&["web", "pos"]), json!("fax")),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(code(Kind::Object, json!({"a": 1})), None);
        assert_eq!(
            code(Kind::Object, json!([1])),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(code(Kind::Tags, json!(["vip"])), None);
        assert_eq!(
            code(Kind::Tags, json!(["vip", 3])),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(code(Kind::Tags, json!([""])), Some(ErrorCode::InvalidValue));
        let many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
        assert_eq!(
            code(Kind::Tags, json!(many)),
            Some(ErrorCode::LimitExceeded)
        );
        assert_eq!(code(Kind::Date, Value::Null), None, "null clears a field");
    }

    #[test]
    fn messages_name_the_path() {
        let e = check(&"customerAttributes.dateOfBirth", Kind::Date, &json!("x")).unwrap_err();
        assert_eq!(
            e.message,
            "customerAttributes.dateOfBirth: not a date (YYYY-MM-DD)"
        );
        let e = check(&"tags", Kind::Tags, &json!(["a", 1])).unwrap_err();
        assert_eq!(e.message, "tags[1]: must be a string");
    }

    #[test]
    fn timestamps_without_offset_are_utc() {
        let t = parse_timestamp("2025-03-14T10:00:00").unwrap();
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        let z = parse_timestamp("2025-03-14T12:00:00+02:00").unwrap();
        assert_eq!(t, z);
        assert!(parse_timestamp("2025-03-14").is_none());
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal(&"a", &json!(0.1)).unwrap().to_string(), "0.1");
        assert_eq!(
            decimal(&"a", &json!("12.345")).unwrap().to_string(),
            "12.345"
        );
        assert!(decimal(&"a", &json!(true)).is_err());
    }
}
