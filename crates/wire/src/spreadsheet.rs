//! CSV cells a spreadsheet will not run as formulas, and back: a cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with
//! a `'` before it (plain numbers such as `-25` excepted: they cannot be
//! formulas), and a reader of such a file takes the `'` off again.

use std::borrow::Cow;

const TRIGGERS: [u8; 6] = [b'=', b'+', b'-', b'@', b'\t', b'\r'];

/// Whether `cell` would start a formula in a spreadsheet.
pub fn needs_guard(cell: &[u8]) -> bool {
    matches!(cell.first(), Some(c) if TRIGGERS.contains(c)) && !plain_number(cell)
}

/// `-25`, `+3.5`: a sign, digits, at most one point between digits.
fn plain_number(cell: &[u8]) -> bool {
    let digits = &cell[1..];
    let mut parts = digits.splitn(2, |b| *b == b'.');
    let whole = parts.next().unwrap_or_default();
    let all_digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    all_digits(whole) && parts.next().is_none_or(all_digits)
}

/// `cell` as a spreadsheet may open it safely.
pub fn guard(cell: &str) -> Cow<'_, str> {
    if needs_guard(cell.as_bytes()) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// [`guard`] for a cell that may not be UTF-8.
pub fn guard_bytes(cell: &[u8]) -> Cow<'_, [u8]> {
    if needs_guard(cell) {
        let mut guarded = Vec::with_capacity(cell.len() + 1);
        guarded.push(b'\'');
        guarded.extend_from_slice(cell);
        guarded.into()
    } else {
        cell.into()
    }
}

/// A guarded cell as it was written: the `'` before a formula's first
/// character is taken off; every other cell is unchanged.
pub fn unguard(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', c, ..] if TRIGGERS.contains(c) => &cell[1..],
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_guarded_and_numbers_are_not() {
        assert_eq!(guard("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(guard("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard("-2+3+cmd|x"), "'-2+3+cmd|x");
        assert_eq!(guard("\tx"), "'\tx");
        assert_eq!(guard("\rx"), "'\rx");
        assert_eq!(guard("-25"), "-25");
        assert_eq!(guard("+3.5"), "+3.5");
        assert_eq!(guard("-3."), "'-3.");
        assert_eq!(guard("-"), "'-");
        assert_eq!(guard("cust-1"), "cust-1");
        assert_eq!(guard(""), "");
        assert_eq!(&*guard_bytes(b"=\xff"), b"'=\xff");
        assert_eq!(&*guard_bytes(b"\xff="), b"\xff=");
    }

    #[test]
    fn a_guarded_cell_reads_back_as_written() {
        for cell in [
            "=1+1", "@x", "-2+3", "\tx", "plain", "'quoted", "-25", "", "'",
        ] {
            assert_eq!(unguard(&guard(cell)), cell);
        }
    }
}
