//! Reading one ledger item's fields: each is removed as it is read, checked against its limits, and every error names it.

use super::MAX_TRANSACTION_ID_CHARS;
use crate::fields;
use crate::ledger::Millis;
use crate::limits;
use crate::outcome::ItemFailure;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// The fields of one item, removed as they are read; every error names its field.
pub(super) struct Fields {
    pub(super) obj: Map<String, Value>,
}

impl Fields {
    pub(super) fn take(&mut self, name: &str) -> Option<Value> {
        self.obj.remove(name).filter(|v| !v.is_null())
    }

    pub(super) fn text(&mut self, name: &str, max: usize) -> Result<Option<String>, ItemFailure> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(ItemFailure::invalid(format!("{name}: must not be empty")))
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                Err(ItemFailure::too_long(name, max))
            }
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ItemFailure::invalid(format!("{name}: must be a string"))),
        }
    }

    pub(super) fn required_text(&mut self, name: &str, max: usize) -> Result<String, ItemFailure> {
        self.text(name, max)?
            .ok_or_else(|| ItemFailure::missing(name))
    }

    /// A transaction id, order id or hold reference: an identifier ([`fields::identifier`]).
    pub(super) fn id(&mut self, name: &str) -> Result<Option<String>, ItemFailure> {
        let id = self.text(name, MAX_TRANSACTION_ID_CHARS)?;
        if let Some(id) = &id {
            fields::identifier(&name, id)?;
        }
        Ok(id)
    }

    pub(super) fn required_id(&mut self, name: &str) -> Result<String, ItemFailure> {
        self.id(name)?.ok_or_else(|| ItemFailure::missing(name))
    }

    pub(super) fn time(&mut self, name: &str) -> Result<Option<Millis>, ItemFailure> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        let parsed = v
            .as_str()
            .and_then(fields::parse_timestamp)
            .ok_or_else(|| {
                ItemFailure::invalid(format!(
                    "{name}: not a timestamp (RFC 3339, e.g. 2025-03-14T10:00:00Z)"
                ))
            })?;
        Ok(Some((parsed.unix_timestamp_nanos() / 1_000_000) as Millis))
    }

    pub(super) fn required_time(&mut self, name: &str) -> Result<Millis, ItemFailure> {
        self.time(name)?.ok_or_else(|| ItemFailure::missing(name))
    }

    /// Signed points, at most [`limits::MAX_POINTS`] either way.
    pub(super) fn integer(&mut self, name: &str) -> Result<Option<i64>, ItemFailure> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        let in_range = |n: i64| n.unsigned_abs() <= limits::MAX_POINTS.unsigned_abs();
        match whole(&v) {
            Some(n) if in_range(n) => Ok(Some(n)),
            Some(_) => Err(points_out_of_range(name)),
            // Beyond i64 (or written with an exponent): too large, or not whole.
            None if v.as_f64().is_some_and(|f| f.abs() > 1e12) => Err(points_out_of_range(name)),
            None => Err(ItemFailure::invalid(format!(
                "{name}: must be a whole number of points"
            ))),
        }
    }

    pub(super) fn positive_integer(&mut self, name: &str) -> Result<Option<i64>, ItemFailure> {
        match self.integer(name)? {
            Some(n) if n <= 0 => Err(ItemFailure::invalid(format!(
                "{name}: must be greater than 0"
            ))),
            n => Ok(n),
        }
    }

    pub(super) fn days(&mut self, name: &str, max: u32) -> Result<Option<u32>, ItemFailure> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => whole(&v)
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| *d <= max)
                .map(Some)
                .ok_or_else(|| {
                    ItemFailure::invalid(format!("{name}: must be a whole number of days, 0–{max}"))
                }),
        }
    }

    pub(super) fn money(&mut self, name: &str) -> Result<Option<Decimal>, ItemFailure> {
        self.take(name)
            .map(|v| fields::money(&name, &v))
            .transpose()
    }

    pub(super) fn non_negative_money(
        &mut self,
        name: &str,
    ) -> Result<Option<Decimal>, ItemFailure> {
        match self.money(name)? {
            Some(d) if d.is_sign_negative() && !d.is_zero() => Err(ItemFailure::invalid(format!(
                "{name}: must not be negative"
            ))),
            d => Ok(d),
        }
    }

    pub(super) fn positive_money(&mut self, name: &str) -> Result<Option<Decimal>, ItemFailure> {
        match self.money(name)? {
            Some(d) if d <= Decimal::ZERO => Err(ItemFailure::invalid(format!(
                "{name}: must be greater than 0"
            ))),
            d => Ok(d),
        }
    }
}

/// A JSON number that names a whole number: `5`, and also `5.0` or `5e0` as
/// Gameball clients write them; `None` for a fraction, a non-number, or beyond `i64`.
fn whole(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let text = n.to_string();
    let d = Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()?;
    if d.fract().is_zero() {
        rust_decimal::prelude::ToPrimitive::to_i64(&d)
    } else {
        None
    }
}

fn points_out_of_range(name: &str) -> ItemFailure {
    ItemFailure::invalid(format!(
        "{name}: must be between -{max} and {max} points",
        max = limits::MAX_POINTS
    ))
}
