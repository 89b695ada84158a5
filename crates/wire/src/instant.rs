//! Instants as every body shows them: RFC 3339 in UTC with exactly three fractional digits (`2025-03-14T10:00:00.400Z`, never `.4Z`); any RFC 3339 instant is read.

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `t` in UTC, milliseconds always written.
pub fn format(t: OffsetDateTime) -> String {
    let shape =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&shape)
        .unwrap_or_default()
}

pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(d)?;
    OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
}

/// The same for an optional instant (`null` when absent).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_fractional_digits_always_in_utc() {
        let t = OffsetDateTime::parse("2025-03-14T12:53:05.4+02:00", &Rfc3339).unwrap();
        assert_eq!(format(t), "2025-03-14T10:53:05.400Z");
        let whole = OffsetDateTime::parse("2025-03-14T10:00:00Z", &Rfc3339).unwrap();
        assert_eq!(format(whole), "2025-03-14T10:00:00.000Z");
        let json = serde_json::to_string(&Wrapper { at: Some(whole) }).unwrap();
        assert_eq!(json, r#"{"at":"2025-03-14T10:00:00.000Z"}"#);
        let back: Wrapper = serde_json::from_str(r#"{"at":"2025-03-14T10:00:00Z"}"#).unwrap();
        assert_eq!(back.at, Some(whole));
        let none: Wrapper = serde_json::from_str(r#"{"at":null}"#).unwrap();
        assert_eq!(none.at, None);
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Wrapper {
        #[serde(with = "super::option")]
        at: Option<OffsetDateTime>,
    }
}
