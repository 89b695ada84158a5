//! Reading an import file one row at a time, whatever its format (a JSON
//! array, NDJSON, or CSV with a header row) and its text encoding (UTF-8 with
//! or without a byte-order mark, or UTF-16 with one). Memory stays flat
//! whatever the file's size: one row is held at a time.

use crate::csv_rows::Columns;
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
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

    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "a JSON array",
            Format::Ndjson => "NDJSON",
            Format::Csv => "CSV",
        }
    }

    /// `.csv`, `.ndjson` and `.jsonl` by their extension; anything else (`.json`
    /// included, which often holds NDJSON) by its first character after any
    /// byte-order mark and white space: `[` an array, `{` NDJSON (`"` too for
    /// a `.json` file: NDJSON of bare ids), else CSV.
    pub fn detect(path: &Path) -> Result<Format, InputError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let by_extension = ext.as_deref().and_then(Format::parse);
        let mut text = open(path)?;
        if let Some(f) = by_extension.filter(|f| *f != Format::Json) {
            return Ok(f);
        }
        let first = loop {
            let buf = text.fill_buf()?;
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => break Some(buf[i]),
                None if buf.is_empty() => break None,
                None => {
                    let n = buf.len();
                    text.consume(n);
                }
            }
        };
        Ok(match first {
            Some(b'[') => Format::Json,
            Some(b'{') => Format::Ndjson,
            Some(b'"') if by_extension == Some(Format::Json) => Format::Ndjson,
            _ => Format::Csv,
        })
    }
}

/// A file's text, read through [`open`].
pub type Text = BufReader<DecodeReaderBytes<std::io::Chain<Cursor<Vec<u8>>, File>, Vec<u8>>>;

/// The file's text as UTF-8 bytes: a UTF-8 byte-order mark taken off, UTF-16
/// with a byte-order mark converted; bytes that are not UTF-8 are passed on
/// as they are (the row that holds them fails alone). UTF-16 without a mark
/// is refused with a hint.
pub fn open(path: &Path) -> Result<Text, InputError> {
    let mut file = File::open(path)?;
    let mut start = vec![0u8; 4096];
    let n = read_up_to(&mut file, &mut start)?;
    start.truncate(n);
    if looks_like_utf16_without_bom(&start) {
        return Err(InputError::Utf16WithoutBom);
    }
    let text = DecodeReaderBytesBuilder::new()
        .utf8_passthru(true)
        .strip_bom(true)
        .build(Cursor::new(start).chain(file));
    Ok(BufReader::with_capacity(1 << 20, text))
}

/// Text with every other byte zero, and no byte-order mark to say which half.
fn looks_like_utf16_without_bom(start: &[u8]) -> bool {
    if start.starts_with(&[0xFF, 0xFE]) || start.starts_with(&[0xFE, 0xFF]) || start.len() < 4 {
        return false;
    }
    let pairs = start.len() / 2;
    let zeros = |offset: usize| {
        start
            .iter()
            .skip(offset)
            .step_by(2)
            .take(pairs)
            .filter(|b| **b == 0)
            .count()
    };
    zeros(0).max(zeros(1)) * 3 >= pairs
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
pub(crate) fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Whether the file holds no rows by design: nothing but white space (and a
/// byte-order mark), or a CSV header row of plain column names and nothing
/// else. A file that yields no rows otherwise was not read as what it is.
pub fn empty_by_design(path: &Path, format: Format) -> Result<bool, InputError> {
    let mut text = Vec::new();
    open(path)?.take(1 << 20).read_to_end(&mut text)?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(true);
    }
    Ok(match format {
        Format::Json => text.iter().filter(|b| !b.is_ascii_whitespace()).eq(b"[]"),
        Format::Ndjson => false,
        Format::Csv => match csv_header(path)? {
            Some(header) => header
                .iter()
                .all(|cell| !cell.is_empty() && !cell.iter().any(|b| b"{}[]\":".contains(b))),
            None => false,
        },
    })
}

/// One row of the file as it was read.
pub struct Row<'a> {
    /// 1-based position among the file's items (the header row and blank lines are not counted).
    pub number: u64,
    pub raw: Raw<'a>,
    columns: Option<&'a Columns>,
}

/// A row's original text.
pub enum Raw<'a> {
    /// A CSV record, its cells as bytes (`line`: where it starts in the file).
    Csv {
        record: &'a csv::ByteRecord,
        line: u64,
    },
    /// A line of NDJSON without its line break (`line`: its 1-based number).
    Line { bytes: &'a [u8], line: u64 },
    /// An element of a JSON array.
    Element(&'a str),
    /// A CSV record the parser could not take apart.
    Unreadable(String),
}

impl Row<'_> {
    /// The row as an item's JSON text, or why it cannot be one.
    pub fn item(&self) -> Result<String, String> {
        match &self.raw {
            Raw::Csv { record, line } => match self.columns {
                Some(columns) => columns.item(record, *line),
                None => Err("a CSV record without its header".into()),
            },
            Raw::Line { bytes, line } => line_item(bytes, *line),
            Raw::Element(text) => Ok((*text).to_owned()),
            Raw::Unreadable(why) => Err(why.clone()),
        }
    }
}

/// An NDJSON line as an item: UTF-8 and one JSON value, else why not (with its line number).
fn line_item(bytes: &[u8], line: u64) -> Result<String, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        format!(
            "line {line}: not valid UTF-8 (byte {:#04x} at column {}); save the file as UTF-8",
            bytes[at],
            at + 1
        )
    })?;
    match serde_json::from_str::<&RawValue>(text) {
        Ok(v) => Ok(v.get().to_owned()),
        Err(e) => {
            let message = e.to_string();
            let what = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(what, _)| what);
            Err(format!(
                "line {line}, column {}: not JSON ({what})",
                e.column()
            ))
        }
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
    #[error("the CSV header row is not valid UTF-8 (column {0}); save the file as UTF-8")]
    Header(usize),
    #[error(
        "the file looks like UTF-16 without a byte-order mark; save it as UTF-8 (or UTF-16 with a byte-order mark)"
    )]
    Utf16WithoutBom,
    /// The row callback asked to stop.
    #[error("{0}")]
    Stopped(String),
}

/// The header of a CSV file as bytes, `None` when it has no row at all.
pub fn csv_header(path: &Path) -> Result<Option<csv::ByteRecord>, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(open(path)?);
    let mut header = csv::ByteRecord::new();
    Ok(reader.read_byte_record(&mut header)?.then_some(header))
}

/// Calls `each` with every row of `path`, in order. `each` returning an error stops the read.
pub fn for_each_row(
    path: &Path,
    format: Format,
    batch_type: BatchType,
    mut each: impl FnMut(Row<'_>) -> Result<(), String>,
) -> Result<(), InputError> {
    let stop = InputError::Stopped;
    let mut text = open(path)?;
    match format {
        Format::Ndjson => {
            let (mut number, mut line, mut buf) = (0, 0, Vec::new());
            loop {
                buf.clear();
                if text.read_until(b'\n', &mut buf)? == 0 {
                    return Ok(());
                }
                line += 1;
                let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
                let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                number += 1;
                each(Row {
                    number,
                    raw: Raw::Line { bytes, line },
                    columns: None,
                })
                .map_err(stop)?;
            }
        }
        Format::Json => {
            let mut de = serde_json::Deserializer::from_reader(text);
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
                .from_reader(text);
            let header = reader.byte_headers()?.clone();
            let names = header
                .iter()
                .enumerate()
                .map(|(i, h)| std::str::from_utf8(h).map_err(|_| InputError::Header(i + 1)))
                .collect::<Result<Vec<&str>, InputError>>()?;
            let columns = Columns::new(&names, batch_type);
            let mut record = csv::ByteRecord::new();
            let mut number = 0;
            loop {
                let raw = match reader.read_byte_record(&mut record) {
                    Ok(false) => return Ok(()),
                    Ok(true) => Raw::Csv {
                        record: &record,
                        line: record.position().map_or(0, csv::Position::line),
                    },
                    Err(e) if e.is_io_error() => return Err(e.into()),
                    Err(e) => Raw::Unreadable(format!("unreadable CSV record: {e}")),
                };
                number += 1;
                each(Row {
                    number,
                    raw,
                    columns: Some(&columns),
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

impl<'de, F: FnMut(Row<'_>) -> Result<(), String>> DeserializeSeed<'de> for Elements<'_, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Row<'_>) -> Result<(), String>> Visitor<'de> for Elements<'_, F> {
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
                raw: Raw::Element(item.get()),
                columns: None,
            };
            if let Err(why) = (self.each)(row) {
                *self.failure = Some(why);
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
