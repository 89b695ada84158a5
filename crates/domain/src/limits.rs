//! The bounds every number and string obeys (README "Limits"): parsed values stay inside them, so the points maths can neither overflow nor wrap.
//!
//! With points in one operation at most 10^12 and every balance within ±10^15,
//! every sum the ledger forms stays about a thousand times below `i64::MAX`;
//! the arithmetic is checked all the same (`clippy::arithmetic_side_effects`
//! is denied in this crate).

use rust_decimal::Decimal;

/// The largest money amount one item or call may name: 10^12.
pub const MAX_MONEY_UNITS: i64 = 1_000_000_000_000;
/// Decimal places a money amount may have.
pub const MAX_MONEY_DECIMALS: u32 = 6;
/// The most points one operation may move: 10^12.
pub const MAX_POINTS: i64 = 1_000_000_000_000;
/// The bound of every balance, lot, hold and lifetime total of one customer: ±10^15.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;
/// The bytes one item (or single call's body) may take as JSON text (3011 beyond).
pub const MAX_ITEM_BYTES: usize = 64 * 1024;
/// The bytes a customer's `customerAttributes.custom` may take as JSON text,
/// merged over all its upserts (3011 beyond).
pub const MAX_CUSTOM_BYTES: usize = 64 * 1024;

/// The bytes `value` takes as JSON text, counted without building the text.
pub fn json_bytes(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, nor can a `Value` refuse to serialize.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}
/// Characters of an offending value a failure quotes: longer values are cut
/// to this many and end with `…`.
pub const QUOTE_CHARS: usize = 100;
/// Values up to this many characters are quoted whole: the longest valid id.
pub const QUOTE_WHOLE_CHARS: usize = 200;

pub fn max_money() -> Decimal {
    Decimal::from(MAX_MONEY_UNITS)
}

/// `value` as a failure quotes it: whole when it is no longer than the longest
/// valid id, else its first [`QUOTE_CHARS`] characters and `…`.
pub fn quote(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(QUOTE_WHOLE_CHARS) {
        None => value.into(),
        Some(_) => {
            let end = value
                .char_indices()
                .nth(QUOTE_CHARS)
                .map_or(value.len(), |(i, _)| i);
            format!("{}…", &value[..end]).into()
        }
    }
}

/// Whether `s` holds a control character (C0, DEL or C1): ids and names may not.
pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_cut_only_values_longer_than_any_valid_id() {
        let id = "é".repeat(QUOTE_WHOLE_CHARS);
        assert_eq!(quote(&id), id.as_str());
        let long = "x".repeat(15_000);
        let q = quote(&long);
        assert_eq!(q.chars().count(), QUOTE_CHARS + 1);
        assert!(q.ends_with('…'));
        let multi = "ü".repeat(QUOTE_WHOLE_CHARS + 1);
        assert_eq!(quote(&multi).chars().count(), QUOTE_CHARS + 1);
    }

    #[test]
    fn control_characters_are_found_anywhere() {
        assert!(has_control("a\u{0}b"));
        assert!(has_control("\t"));
        assert!(has_control("x\u{7f}"));
        assert!(has_control("x\u{85}"));
        assert!(!has_control("Zoë 😀 名前"));
    }
}
