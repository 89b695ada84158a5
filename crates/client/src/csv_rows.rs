//! CSV records as items: dotted headers (`customerAttributes.custom.segment`) build nesting, empty cells are absent, and cells become numbers, booleans or JSON where the item's schema says so.

use serde_json::{Map, Number, Value};
use wire::{BatchType, spreadsheet};

/// How a cell is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// A decimal number, kept exact.
    Number,
    Integer,
    Bool,
    /// A JSON value written in the cell (objects, arrays).
    Json,
    /// `a;b;c` (or a JSON array) → an array of strings.
    List,
}

/// The typed fields of each item schema (dotted paths); every other column is text.
fn kind_of(batch_type: BatchType, path: &str) -> Kind {
    use Kind::*;
    let typed: &[(&str, Kind)] = match batch_type {
        BatchType::Customers => &[
            ("guest", Bool),
            ("tags", List),
            ("customerAttributes.totalSpent", Number),
            ("customerAttributes.totalOrders", Integer),
            ("customerAttributes.avgOrderAmount", Number),
            ("customerAttributes.utms", Json),
            ("customerAttributes.devices", Json),
            ("customerAttributes.paymentMethods", Json),
        ],
        BatchType::BalanceAdjustment => &[("amount", Integer), ("expiryAfter", Integer)],
        BatchType::Cashback => &[("amount", Number), ("configurations.returnWindow", Integer)],
        BatchType::Redeem => &[("amount", Number), ("points", Integer)],
        BatchType::Orders => &[
            ("totalPaid", Number),
            ("totalPrice", Number),
            ("totalDiscount", Number),
            ("totalShipping", Number),
            ("totalTax", Number),
            ("guest", Bool),
            ("lineItems", Json),
            ("extra", Json),
            ("cashbackConfigurations.returnWindow", Integer),
        ],
        BatchType::Events | BatchType::BalanceInquiry | BatchType::OrderTransactions => &[],
    };
    if let Some((_, k)) = typed.iter().find(|(p, _)| *p == path) {
        return *k;
    }
    // `events.<name>` holds that event's metadata object.
    if batch_type == BatchType::Events
        && path.starts_with("events.")
        && path.matches('.').count() == 1
    {
        return Json;
    }
    Text
}

/// The header row, prepared once per file.
pub struct Columns {
    /// Per column: its path segments and kind.
    columns: Vec<(Vec<String>, Kind)>,
    /// `orders/transactions` items are bare order ids: the column that holds them.
    order_id: Option<usize>,
}

impl Columns {
    pub fn new(header: &[&str], batch_type: BatchType) -> Columns {
        let columns = header
            .iter()
            .map(|h| {
                let h = h.trim();
                (
                    h.split('.').map(str::to_owned).collect(),
                    kind_of(batch_type, h),
                )
            })
            .collect();
        let order_id = (batch_type == BatchType::OrderTransactions).then(|| {
            header
                .iter()
                .position(|h| h.trim() == "orderId")
                .unwrap_or(0)
        });
        Columns { columns, order_id }
    }

    /// The record (starting on `line` of the file) as an item's JSON text, or
    /// why it cannot be one. A cell guarded against spreadsheets (`'=…`) is
    /// read without its guard.
    pub fn item(&self, record: &csv::ByteRecord, line: u64) -> Result<String, String> {
        if record.len() > self.columns.len() {
            return Err(format!(
                "row has {} cells but the header has {} columns",
                record.len(),
                self.columns.len()
            ));
        }
        let cell = |i: usize| -> Result<&str, String> {
            let bytes = record.get(i).unwrap_or_default();
            std::str::from_utf8(bytes)
                .map(spreadsheet::unguard)
                .map_err(|e| {
                    let column = self.columns.get(i).map(|(p, _)| p.join(".")).unwrap_or_default();
                    format!(
                        "line {line}, column {column}: not valid UTF-8 (byte {:#04x}); save the file as UTF-8",
                        bytes[e.valid_up_to()]
                    )
                })
        };
        if let Some(i) = self.order_id {
            return Ok(Value::String(cell(i)?.trim().to_owned()).to_string());
        }
        let mut item = Map::new();
        for (i, (path, kind)) in self.columns.iter().enumerate().take(record.len()) {
            let text = cell(i)?;
            if text.is_empty() {
                continue;
            }
            insert(&mut item, path, typed(*kind, text))
                .map_err(|()| format!("column {}: clashes with another column", path.join(".")))?;
        }
        Ok(Value::Object(item).to_string())
    }
}

/// A cell as its kind says; a cell that does not fit stays text, so the item's own
/// validation names the field and the problem.
fn typed(kind: Kind, cell: &str) -> Value {
    let text = || Value::String(cell.to_owned());
    let trimmed = cell.trim();
    match kind {
        Kind::Text => text(),
        Kind::Number => trimmed
            .parse::<Number>()
            .map(Value::Number)
            .unwrap_or_else(|_| text()),
        Kind::Integer => trimmed
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| text()),
        Kind::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => text(),
        },
        Kind::Json => serde_json::from_str(trimmed).unwrap_or_else(|_| text()),
        Kind::List if trimmed.starts_with('[') => {
            serde_json::from_str(trimmed).unwrap_or_else(|_| text())
        }
        Kind::List => Value::Array(
            trimmed
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
    }
}

/// Puts `value` at `path` in `obj`, creating the objects on the way.
fn insert(obj: &mut Map<String, Value>, path: &[String], value: Value) -> Result<(), ()> {
    let (last, parents) = path.split_last().ok_or(())?;
    let mut at = obj;
    for p in parents {
        let next = at
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        at = next.as_object_mut().ok_or(())?;
    }
    if at.contains_key(last) {
        return Err(());
    }
    at.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(batch_type: BatchType, header: &[&str], row: &[&str]) -> Value {
        let cols = Columns::new(header, batch_type);
        serde_json::from_str(&cols.item(&csv::ByteRecord::from(row.to_vec()), 2).unwrap()).unwrap()
    }

    #[test]
    fn dotted_headers_nest_and_schema_fields_are_typed() {
        let v = item(
            BatchType::Customers,
            &[
                "customerId",
                "guest",
                "tags",
                "customerAttributes.city",
                "customerAttributes.custom.segment",
                "customerAttributes.totalSpent",
                "email",
            ],
            &["c1", "true", "vip; app_user", "Cairo", "42", "100.50", ""],
        );
        let expected: Value = serde_json::from_str(
            r#"{"customerId": "c1", "guest": true, "tags": ["vip", "app_user"],
                "customerAttributes": {"city": "Cairo", "custom": {"segment": "42"}, "totalSpent": 100.50}}"#,
        )
        .unwrap();
        assert_eq!(v, expected, "numbers keep their exact decimal text");
    }

    #[test]
    fn cells_that_do_not_fit_stay_text_for_the_validation_to_name() {
        let v = item(
            BatchType::Cashback,
            &["customerId", "amount"],
            &["c", "ten"],
        );
        assert_eq!(v["amount"], "ten");
        let v = item(
            BatchType::BalanceAdjustment,
            &["customerId", "amount"],
            &["c", "-25"],
        );
        assert_eq!(v["amount"], -25);
        let v = item(
            BatchType::Events,
            &["customerId", "events.login", "events.review"],
            &["c", "{}", "{\"stars\": 5}"],
        );
        assert_eq!(v["events"], json!({"login": {}, "review": {"stars": 5}}));
    }

    #[test]
    fn order_transactions_rows_are_bare_ids() {
        let cols = Columns::new(&["note", "orderId"], BatchType::OrderTransactions);
        assert_eq!(
            cols.item(&csv::ByteRecord::from(vec!["x", "o-1"]), 2)
                .unwrap(),
            "\"o-1\""
        );
    }

    #[test]
    fn clashing_columns_and_long_rows_fail_the_row() {
        let cols = Columns::new(&["a", "a.b"], BatchType::Customers);
        assert!(
            cols.item(&csv::ByteRecord::from(vec!["1", "2"]), 2)
                .is_err()
        );
        let cols = Columns::new(&["a"], BatchType::Customers);
        assert!(
            cols.item(&csv::ByteRecord::from(vec!["1", "2"]), 2)
                .is_err()
        );
    }

    #[test]
    fn cells_that_are_not_utf8_fail_the_row_naming_line_and_column() {
        let cols = Columns::new(&["customerId", "displayName"], BatchType::Customers);
        let mut record = csv::ByteRecord::new();
        record.push_field(b"c1");
        record.push_field(b"Ren\xe9");
        let why = cols.item(&record, 7).unwrap_err();
        assert_eq!(
            why,
            "line 7, column displayName: not valid UTF-8 (byte 0xe9); save the file as UTF-8"
        );
    }

    #[test]
    fn guarded_cells_read_back_without_their_guard() {
        let v = item(
            BatchType::BalanceAdjustment,
            &["customerId", "amount", "reason"],
            &["'=c", "-25", "'@SUM(A1)"],
        );
        assert_eq!(
            v,
            json!({"customerId": "=c", "amount": -25, "reason": "@SUM(A1)"})
        );
    }

    #[test]
    fn a_byte_order_mark_does_not_rename_the_first_column() {
        let text = "\u{feff}customerId,email\nc1,a@b.c\n";
        let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        assert_eq!(r.headers().unwrap().get(0), Some("customerId"));
    }
}
