//! Reading an import file one row at a time, whatever its format: a JSON array, NDJSON, or CSV with a header row. Memory stays flat whatever the file's size.

use crate::csv_rows;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use thiserror::Error;
use wire::BatchType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON array of items.
    Json,
    /// One JSON item per line.
    Ndjson,
    /// A header row, then one item per record; dotted headers build nesting.
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// `.csv`, `.ndjson` and `.jsonl` by their extension; anything else (`.json`
    /// included, which often holds NDJSON) by its first character: `[` an array,
    /// `{` NDJSON, else CSV.
    pub fn detect(path: &Path) -> Result<Format, InputError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if let Some(f) = ext
            .as_deref()
            .and_then(Format::parse)
            .filter(|f| *f != Format::Json)
        {
            return Ok(f);
        }
        let mut first = [0u8; 1];
        let mut file = BufReader::new(File::open(path)?);
        loop {
            if file.read(&mut first)? == 0 {
                return Ok(Format::Csv);
            }
            if !first[0].is_ascii_whitespace() {
                break;
            }
        }
        Ok(match first[0] {
            b'[' => Format::Json,
            b'{' => Format::Ndjson,
            _ => Format::Csv,
        })
    }
}

/// One row of the file.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based position among the file's items (the header row is not counted).
    pub number: u64,
    /// The item as JSON text, or why the row could not be read as one.
    pub item: Result<String, String>,
    /// The original CSV record (for `failed.csv`).
    pub record: Option<csv::StringRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_extension_or_the_first_character() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let detect = |p: &Path| Format::detect(p).unwrap();
        assert_eq!(detect(&file("a.csv", "[x")), Format::Csv);
        assert_eq!(detect(&file("a.jsonl", "[")), Format::Ndjson);
        assert_eq!(detect(&file("a.json", "  [{}]")), Format::Json);
        assert_eq!(
            detect(&file("b.json", "{\"customerId\": \"c\"}\n")),
            Format::Ndjson
        );
        assert_eq!(detect(&file("export", "customerId\nc1\n")), Format::Csv);
    }

    #[test]
    fn a_json_array_is_streamed_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(&p, r#"[{"customerId": "a"}, 7, {"customerId": "b"}]"#).unwrap();
        let mut rows = Vec::new();
        for_each_row(&p, Format::Json, BatchType::Customers, |r| {
            rows.push((r.number, r.item.unwrap()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            rows,
            [
                (1, r#"{"customerId": "a"}"#.to_owned()),
                (2, "7".to_owned()),
                (3, r#"{"customerId": "b"}"#.to_owned())
            ]
        );
        std::fs::write(&p, r#"[{"customerId": "a"}, "#).unwrap();
        let broken = for_each_row(&p, Format::Json, BatchType::Customers, |_| Ok(()));
        assert!(matches!(broken, Err(InputError::Json(_))));
    }
}

#[derive(Debug, Error)]
pub enum InputError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the file is not a JSON array of items: {0}")]
    Json(serde_json::Error),
    /// The row callback asked to stop.
    #[error("{0}")]
    Stopped(String),
}

/// The header of a CSV file (for `failed.csv`), `None` for JSON inputs.
pub fn csv_header(path: &Path, format: Format) -> Result<Option<csv::StringRecord>, InputError> {
    if format != Format::Csv {
        return Ok(None);
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
    Ok(Some(reader.headers()?.clone()))
}

/// Calls `each` with every row of `path`, in order. `each` returning an error stops the read.
pub fn for_each_row(
    path: &Path,
    format: Format,
    batch_type: BatchType,
    mut each: impl FnMut(Row) -> Result<(), String>,
) -> Result<(), InputError> {
    let stop = InputError::Stopped;
    match format {
        Format::Ndjson => {
            let mut number = 0;
            for line in BufReader::with_capacity(1 << 20, File::open(path)?).lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                number += 1;
                let item = match serde_json::from_str::<&RawValue>(&line) {
                    Ok(v) => Ok(v.get().to_owned()),
                    Err(e) => Err(format!("not JSON: {e}")),
                };
                each(Row {
                    number,
                    item,
                    record: None,
                })
                .map_err(stop)?;
            }
            Ok(())
        }
        Format::Json => {
            let reader = BufReader::with_capacity(1 << 20, File::open(path)?);
            let mut de = serde_json::Deserializer::from_reader(reader);
            let mut failure = None;
            let seed = Elements {
                each: &mut each,
                failure: &mut failure,
            };
            let read = seed.deserialize(&mut de).and_then(|()| de.end());
            if let Some(why) = failure {
                return Err(stop(why));
            }
            read.map_err(InputError::Json)
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .buffer_capacity(1 << 20)
                .from_path(path)?;
            let columns = csv_rows::Columns::new(reader.headers()?, batch_type);
            let mut record = csv::StringRecord::new();
            let mut number = 0;
            loop {
                let item = match reader.read_record(&mut record) {
                    Ok(false) => return Ok(()),
                    Ok(true) => columns.item(&record),
                    Err(e) if e.is_io_error() => return Err(e.into()),
                    Err(e) => Err(format!("unreadable CSV record: {e}")),
                };
                number += 1;
                each(Row {
                    number,
                    item,
                    record: Some(record.clone()),
                })
                .map_err(stop)?;
            }
        }
    }
}

/// Streams the elements of the top-level JSON array to the callback, one at a time.
struct Elements<'a, F> {
    each: &'a mut F,
    failure: &'a mut Option<String>,
}

impl<'de, F: FnMut(Row) -> Result<(), String>> DeserializeSeed<'de> for Elements<'_, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Row) -> Result<(), String>> Visitor<'de> for Elements<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut number = 0;
        while let Some(item) = seq.next_element::<Box<RawValue>>()? {
            number += 1;
            let row = Row {
                number,
                item: Ok(item.get().to_owned()),
                record: None,
            };
            if let Err(why) = (self.each)(row) {
                *self.failure = Some(why);
                return Ok(());
            }
        }
        Ok(())
    }
}
