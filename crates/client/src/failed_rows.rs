//! The failed rows of an import, written back for fixing: `failed.csv` (the
//! original columns plus `row`, `code`, `error`) and, for JSON inputs,
//! `failed.ndjson` with the original items.

use crate::import::{FAILED_CSV, FAILED_NDJSON, ImportOptions};
use crate::input::{self, Format};
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};

/// A failed row: its number, Gameball code and sentence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Failure {
    pub(crate) row: u64,
    pub(crate) code: u32,
    pub(crate) error: String,
}

/// `failed.csv`: the original row's columns plus `row`, `code` and `error` (for
/// JSON inputs: `row`, `code`, `error` and the item), and for JSON inputs
/// `failed.ndjson` with the original items — ready to fix and import again.
pub(crate) fn write_failed(
    opts: &ImportOptions,
    format: Format,
    failures: &[Failure],
) -> Result<()> {
    let header = input::csv_header(&opts.file, format)?;
    let mut csv_out = csv::Writer::from_path(opts.out.join(FAILED_CSV))?;
    match &header {
        Some(h) => {
            let mut columns: Vec<&str> = h.iter().collect();
            columns.extend(["row", "code", "error"]);
            csv_out.write_record(&columns)?;
        }
        None => csv_out.write_record(["row", "code", "error", "item"])?,
    }
    let mut ndjson = match format {
        Format::Csv => None,
        _ => Some(BufWriter::new(File::create(opts.out.join(FAILED_NDJSON))?)),
    };
    if failures.is_empty() {
        csv_out.flush()?;
        return Ok(());
    }
    let by_row: HashMap<u64, &Failure> = failures.iter().map(|f| (f.row, f)).collect();
    let mut write_error = None;
    input::for_each_row(&opts.file, format, opts.batch_type, |row| {
        let Some(f) = by_row.get(&row.number) else {
            return Ok(());
        };
        let written = (|| -> Result<()> {
            let (number, code) = (f.row.to_string(), f.code.to_string());
            match (&row.record, &mut ndjson) {
                (Some(record), _) => {
                    let mut cells: Vec<&str> = record.iter().collect();
                    cells.extend([number.as_str(), code.as_str(), f.error.as_str()]);
                    csv_out.write_record(&cells)?;
                }
                (None, Some(out)) => {
                    let item = row.item.as_deref().unwrap_or_default();
                    csv_out.write_record([
                        number.as_str(),
                        code.as_str(),
                        f.error.as_str(),
                        item,
                    ])?;
                    writeln!(out, "{item}")?;
                }
                (None, None) => bail!("a JSON row without its JSON output"),
            }
            Ok(())
        })();
        written.map_err(|e| {
            let text = e.to_string();
            write_error = Some(e);
            text
        })
    })
    .map_err(|e| {
        write_error
            .take()
            .unwrap_or_else(|| anyhow::anyhow!("re-reading {}: {e}", opts.file.display()))
    })?;
    csv_out.flush()?;
    if let Some(mut out) = ndjson {
        out.flush()?;
    }
    Ok(())
}
