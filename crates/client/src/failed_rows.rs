//! The failed rows of an import. While it runs, each failure (row number,
//! code, sentence) is appended to a spool file on disk, never held in memory;
//! at the end the spools (rows refused before sending, rows the server
//! failed — each already in row order) are merged as they are read, the input
//! is read once more, and each failed row is written back whole:
//! `failed.csv` (the original cells, padded to the header's width, then
//! `row`, `code`, `error`, then any cells beyond the header's width; for JSON
//! inputs `row`, `code`, `error` and the item) and, for JSON inputs,
//! `failed.ndjson` with the original items. Every cell is guarded against
//! spreadsheet formulas; files appear under their names only once complete.

use crate::import::{FAILED_CSV, FAILED_NDJSON};
use crate::input::{self, Format, Raw, Row};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::iter::Peekable;
use std::path::{Path, PathBuf};
use wire::BatchType;
use wire::spreadsheet::guard_bytes;

/// A failed row: its number, Gameball code and sentence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Failure {
    pub(crate) row: u64,
    pub(crate) code: u32,
    pub(crate) error: String,
}

/// Failures appended to a file as they happen, in row order.
pub(crate) struct Spool {
    path: PathBuf,
    out: BufWriter<File>,
    last: u64,
}

impl Spool {
    pub(crate) fn create(path: PathBuf) -> Result<Spool> {
        let out = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Spool {
            path,
            out: BufWriter::new(out),
            last: 0,
        })
    }

    pub(crate) fn push(&mut self, failure: &Failure) -> Result<()> {
        debug_assert!(failure.row > self.last, "a spool is written in row order");
        self.last = failure.row;
        serde_json::to_writer(&mut self.out, failure)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Flushes it; the path to read it back from.
    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        self.out.flush()?;
        Ok(self.path)
    }
}

/// A spool read back, one failure at a time.
fn read_spool(path: &Path) -> Result<impl Iterator<Item = Result<Failure>> + use<>> {
    let lines = BufReader::new(File::open(path)?).lines();
    Ok(lines.map(|line| Ok(serde_json::from_str(&line?)?)))
}

/// What was written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) failed: u64,
    /// Of `failed`: from the first spool (rows refused before sending).
    pub(crate) refused_locally: u64,
    /// The input could not be read again past some row (its failures are
    /// written without their cells): why.
    pub(crate) unreadable: Option<String>,
}

/// Where the failures are and where they go.
pub(crate) struct FailedFiles<'a> {
    pub(crate) input: &'a Path,
    pub(crate) format: Format,
    pub(crate) batch_type: BatchType,
    pub(crate) out: &'a Path,
    /// Rows refused before sending, in row order.
    pub(crate) refused: &'a Path,
    /// Rows the server failed (or never processed), in row order.
    pub(crate) failed: &'a Path,
    /// Only rows before this one (an import that stopped early).
    pub(crate) before_row: u64,
}

/// Writes `failed.csv` (and `failed.ndjson` for JSON inputs) from the two spools.
pub(crate) fn write_failed(files: &FailedFiles<'_>) -> Result<Written> {
    let mut written = Written::default();
    let mut failures = Merged {
        a: read_spool(files.refused)?.peekable(),
        b: read_spool(files.failed)?.peekable(),
    }
    .filter(|f| f.as_ref().map_or(true, |(f, _)| f.row < files.before_row))
    .peekable();
    let csv_part = files.out.join(format!("{FAILED_CSV}.part"));
    let ndjson_part = files.out.join(format!("{FAILED_NDJSON}.part"));
    let mut csv_out = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(&csv_part)
        .with_context(|| format!("creating {}", csv_part.display()))?;
    let header = match files.format {
        Format::Csv => input::csv_header(files.input)?,
        _ => None,
    };
    let width = header.as_ref().map_or(0, csv::ByteRecord::len);
    match &header {
        Some(h) => {
            let mut cells: Vec<Vec<u8>> = h.iter().map(|c| guard_bytes(c).into_owned()).collect();
            cells.extend(["row", "code", "error"].map(|c| c.as_bytes().to_vec()));
            csv_out.write_record(&cells)?;
        }
        None => csv_out.write_record(["row", "code", "error", "item"])?,
    }
    let mut ndjson = match files.format {
        Format::Csv => None,
        _ => Some(BufWriter::new(File::create(&ndjson_part)?)),
    };
    let mut fault: Option<anyhow::Error> = None;
    let done = "every failure is written";
    if failures.peek().is_some() {
        let read = input::for_each_row(files.input, files.format, files.batch_type, |row| {
            let step = (|| -> Result<bool> {
                while let Some(next) =
                    failures.next_if(|f| f.as_ref().map_or(true, |(f, _)| f.row <= row.number))
                {
                    let (failure, local) = next?;
                    if failure.row == row.number {
                        write_row(&mut csv_out, ndjson.as_mut(), width, &failure, Some(&row))?;
                    } else {
                        // A failure of a row the file no longer has: kept, without its cells.
                        write_row(&mut csv_out, ndjson.as_mut(), width, &failure, None)?;
                    }
                    written.failed += 1;
                    written.refused_locally += u64::from(local);
                }
                Ok(failures.peek().is_none())
            })();
            match step {
                Ok(false) => Ok(()),
                Ok(true) => Err(done.to_owned()),
                Err(e) => {
                    fault = Some(e);
                    Err("could not write the failed rows".to_owned())
                }
            }
        });
        if let Some(e) = fault {
            return Err(e);
        }
        match read {
            Ok(()) => {}
            Err(input::InputError::Stopped(why)) if why == done => {}
            // The input is no longer readable past some row: what remains is still written.
            Err(e) => written.unreadable = Some(e.to_string()),
        }
        for next in failures {
            let (failure, local) = next?;
            write_row(&mut csv_out, ndjson.as_mut(), width, &failure, None)?;
            written.failed += 1;
            written.refused_locally += u64::from(local);
        }
    }
    // On disk before it takes its name, as the other result files.
    let csv_file = csv_out.into_inner().map_err(|e| e.into_error())?;
    csv_file.sync_all()?;
    drop(csv_file);
    std::fs::rename(&csv_part, files.out.join(FAILED_CSV))?;
    if let Some(mut out) = ndjson {
        out.flush()?;
        out.get_ref().sync_all()?;
        std::fs::rename(&ndjson_part, files.out.join(FAILED_NDJSON))?;
    }
    Ok(written)
}

/// One failed row written back whole (`row`: `None` when its cells are gone).
fn write_row(
    csv_out: &mut csv::Writer<File>,
    ndjson: Option<&mut BufWriter<File>>,
    width: usize,
    failure: &Failure,
    row: Option<&Row<'_>>,
) -> Result<()> {
    let (number, code) = (failure.row.to_string(), failure.code.to_string());
    let tail = [
        number.as_bytes(),
        code.as_bytes(),
        &guard_bytes(failure.error.as_bytes()),
    ]
    .map(<[u8]>::to_vec);
    let raw = row.map(|r| &r.raw);
    let mut cells: Vec<Vec<u8>> = Vec::with_capacity(width + 4);
    match raw {
        Some(Raw::Csv { record, .. }) => {
            cells.extend(
                (0..width).map(|i| guard_bytes(record.get(i).unwrap_or_default()).into_owned()),
            );
            cells.extend(tail);
            cells.extend(
                record
                    .iter()
                    .skip(width)
                    .map(|c| guard_bytes(c).into_owned()),
            );
        }
        Some(Raw::Unreadable(_)) | None if width > 0 => {
            cells.resize(width, Vec::new());
            cells.extend(tail);
        }
        _ => {
            let original: &[u8] = match raw {
                Some(Raw::Line { bytes, .. }) => bytes,
                Some(Raw::Element(text)) => text.as_bytes(),
                _ => b"",
            };
            cells.extend(tail);
            cells.push(guard_bytes(original).into_owned());
            if let Some(out) = ndjson {
                out.write_all(original)?;
                out.write_all(b"\n")?;
            }
        }
    }
    csv_out.write_record(&cells)?;
    Ok(())
}

/// Two row-ordered failure streams as one; each failure says whether it came from the first.
struct Merged<A: Iterator<Item = Result<Failure>>, B: Iterator<Item = Result<Failure>>> {
    a: Peekable<A>,
    b: Peekable<B>,
}

impl<A, B> Iterator for Merged<A, B>
where
    A: Iterator<Item = Result<Failure>>,
    B: Iterator<Item = Result<Failure>>,
{
    type Item = Result<(Failure, bool)>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = |x: Option<&Result<Failure>>| x.map(|f| f.as_ref().map_or(0, |f| f.row));
        let from_a = match (row(self.a.peek()), row(self.b.peek())) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a <= b,
        };
        if from_a {
            self.a.next().map(|f| f.map(|f| (f, true)))
        } else {
            self.b.next().map(|f| f.map(|f| (f, false)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(row: u64) -> Result<Failure> {
        Ok(Failure {
            row,
            code: 3000,
            error: format!("row {row}"),
        })
    }

    #[test]
    fn two_ordered_spools_merge_in_row_order() {
        let merged: Vec<(u64, bool)> = Merged {
            a: [1, 4, 5, 9].map(failure).into_iter().peekable(),
            b: [2, 3, 6].map(failure).into_iter().peekable(),
        }
        .map(|f| f.map(|(f, local)| (f.row, local)).unwrap())
        .collect();
        assert_eq!(
            merged,
            [
                (1, true),
                (2, false),
                (3, false),
                (4, true),
                (5, true),
                (6, false),
                (9, true)
            ]
        );
    }
}
