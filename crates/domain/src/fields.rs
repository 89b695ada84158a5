//! Field validators shared by the item parsers: each names the field's path in its error.

use crate::limits;
use crate::outcome::ItemFailure;
use rust_decimal::Decimal;
use serde_json::Value;
use std::fmt;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// What a field must hold.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string of at most this many characters, without control characters.
    Text(usize),
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD` or an RFC 3339 timestamp.
    DateOrTimestamp,
    /// A money amount ≥ 0 (see [`money`]).
    NonNegativeDecimal,
    /// An integer from 0 to [`limits::MAX_POINTS`].
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
            no_control(path, s)?;
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
            let d = money(path, value)?;
            if d.is_sign_negative() && !d.is_zero() {
                return Err(ItemFailure::invalid(format!(
                    "{path}: must not be negative"
                )));
            }
        }
        Kind::NonNegativeInteger => {
            if value
                .as_u64()
                .is_none_or(|n| n > limits::MAX_POINTS.unsigned_abs())
            {
                return Err(ItemFailure::invalid(format!(
                    "{path}: must be a whole number from 0 to {}",
                    limits::MAX_POINTS
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
                no_control(&p, s)?;
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

/// Refuses control characters (C0, DEL, C1) in ids, names and other one-line text.
pub fn no_control(path: &dyn fmt::Display, s: &str) -> Result<(), ItemFailure> {
    if limits::has_control(s) {
        return Err(ItemFailure::invalid(format!(
            "{path}: must not contain control characters"
        )));
    }
    Ok(())
}

/// An identifier (a customer, transaction, order or hold id): no control
/// characters, no space at either end, and no invisible formatting character
/// (Unicode category Cf: zero-width joiners and spaces, byte-order marks,
/// direction overrides). Two ids that look alike but differ in those would be
/// two ids; ids otherwise compare byte for byte (no Unicode normalisation).
pub fn identifier(path: &dyn fmt::Display, s: &str) -> Result<(), ItemFailure> {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    no_control(path, s)?;
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(ItemFailure::invalid(format!(
            "{path}: must not start or end with a space"
        )));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.general_category() == GeneralCategory::Format)
    {
        return Err(ItemFailure::invalid(format!(
            "{path}: must not contain invisible formatting characters (U+{:04X})",
            u32::from(c)
        )));
    }
    Ok(())
}

/// A money amount: a JSON number (or numeric string) as an exact decimal of at
/// most [`limits::MAX_MONEY_DECIMALS`] decimal places and at most
/// [`limits::MAX_MONEY_UNITS`] in size. Nothing is rounded: a value that does not
/// fit is refused with a message naming the field and the bound.
pub fn money(path: &dyn fmt::Display, value: &Value) -> Result<Decimal, ItemFailure> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err(ItemFailure::invalid(format!("{path}: must be a number"))),
    };
    let out_of_range = || {
        ItemFailure::invalid(format!(
            "{path}: must be between -{max} and {max}",
            max = limits::MAX_MONEY_UNITS
        ))
    };
    let parsed = Decimal::from_str_exact(&text).or_else(|_| Decimal::from_scientific(&text));
    let d = match parsed {
        Ok(d) => d,
        // A number a decimal cannot hold exactly: too large, or too many digits.
        Err(_) if text.parse::<f64>().is_ok_and(|f| !f.is_nan()) => {
            let large = text.parse::<f64>().is_ok_and(|f| f.abs() > 1e12);
            return Err(if large {
                out_of_range()
            } else {
                too_many_decimals(path)
            });
        }
        Err(_) => return Err(ItemFailure::invalid(format!("{path}: must be a number"))),
    };
    if d.abs() > limits::max_money() {
        return Err(out_of_range());
    }
    let d = d.normalize();
    if d.scale() > limits::MAX_MONEY_DECIMALS {
        return Err(too_many_decimals(path));
    }
    Ok(d)
}

fn too_many_decimals(path: &dyn fmt::Display) -> ItemFailure {
    ItemFailure::invalid(format!(
        "{path}: at most {} decimal places",
        limits::MAX_MONEY_DECIMALS
    ))
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

/// An instant (milliseconds) as every body shows it: RFC 3339 UTC, three fractional digits.
pub fn rfc3339(at: crate::ledger::Millis) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at).saturating_mul(1_000_000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    wire::instant::format(t)
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
    fn identifiers_refuse_edge_spaces_and_invisible_formatting() {
        for ok in ["cust-1", "cust 1", "cust-１", "Zoë", "e\u{301}", "a\u{a0}b"] {
            assert!(identifier(&"id", ok).is_ok(), "{ok:?}");
        }
        // The look-alikes of `cust-1` an attacker used to earn twice.
        for (bad, why) in [
            ("cust-1 ", "start or end with a space"),
            (" cust-1", "start or end with a space"),
            ("\u{a0}cust-1", "start or end with a space"),
            ("cust-1\u{3000}", "start or end with a space"),
            ("cust\u{200b}-1", "U+200B"),
            ("cust\u{200d}-1", "U+200D"),
            ("\u{feff}cust-1", "U+FEFF"),
            ("cust-1\u{202e}", "U+202E"),
            ("cust\u{ad}-1", "U+00AD"),
            ("cust\u{e0041}-1", "U+E0041"),
            ("cust\u{1}-1", "control characters"),
        ] {
            let f = identifier(&"transactionId", bad).unwrap_err();
            assert_eq!(f.code, ErrorCode::InvalidValue, "{bad:?}");
            assert!(
                f.message.starts_with("transactionId: ") && f.message.contains(why),
                "{bad:?}: {}",
                f.message
            );
        }
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
    fn money_is_exact_and_bounded() {
        let ok = |v: Value| money(&"a", &v).map(|d| d.to_string());
        assert_eq!(ok(json!(0.1)).unwrap(), "0.1");
        assert_eq!(ok(json!("12.345")).unwrap(), "12.345");
        assert_eq!(ok(json!(1.5e3)).unwrap(), "1500");
        assert_eq!(
            ok(json!("1.500000000")).unwrap(),
            "1.5",
            "trailing zeros are no decimals"
        );
        assert_eq!(ok(json!(1_000_000_000_000u64)).unwrap(), "1000000000000");
        assert_eq!(ok(json!("0.000001")).unwrap(), "0.000001");
        let message = |v: Value| money(&"amount", &v).unwrap_err().message;
        let range = "amount: must be between -1000000000000 and 1000000000000";
        for big in [
            json!(1_000_000_000_001u64),
            serde_json::from_str::<Value>("79228162514264337593543950335").unwrap(),
            serde_json::from_str::<Value>("79228162514264337593543950336").unwrap(),
            serde_json::from_str::<Value>("1e28").unwrap(),
            serde_json::from_str::<Value>("-1e40").unwrap(),
            json!("1e400"),
        ] {
            assert_eq!(message(big.clone()), range, "{big}");
        }
        for tiny in [
            json!("0.0000001"),
            json!("1e-40"),
            json!("1.00000000000000000000000000001"),
        ] {
            assert_eq!(
                message(tiny.clone()),
                "amount: at most 6 decimal places",
                "{tiny}"
            );
        }
        for not_a_number in [json!(true), json!("ten"), json!("NaN"), json!([1])] {
            assert_eq!(message(not_a_number), "amount: must be a number");
        }
        assert_eq!(
            money(&"a", &json!("1e99")).unwrap_err().code,
            ErrorCode::InvalidValue
        );
    }

    #[test]
    fn text_refuses_control_characters() {
        let e = check(
            &"customerAttributes.displayName",
            Kind::Text(50),
            &json!("a\u{0}b"),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidValue);
        assert_eq!(
            e.message,
            "customerAttributes.displayName: must not contain control characters"
        );
        assert_eq!(
            code(Kind::Tags, json!(["ok", "bad\n"])),
            Some(ErrorCode::InvalidValue)
        );
        assert_eq!(
            code(Kind::NonNegativeInteger, json!(1_000_000_000_001u64)),
            Some(ErrorCode::InvalidValue)
        );
    }
}
