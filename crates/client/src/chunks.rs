//! The file's rows into chunks: each row read, checked locally (a refused row
//! goes to the refusals spool with its reason, never into a request), and the
//! valid ones gathered into request bodies of at most `rows` items and
//! `bytes` bytes — so every request fits the server's body limit whatever the
//! rows' sizes.

use crate::check::check;
use crate::failed_rows::{Failure, Spool};
use crate::input::{self, Format, InputError, Row};
use crate::progress::Progress;
use std::borrow::Cow;
use std::path::Path;
use tokio::sync::mpsc;
use wire::{BatchType, ErrorCode};

/// The smallest chunk byte limit: one item of the largest size, in its envelope.
pub const MIN_CHUNK_BYTES: u64 = domain::limits::MAX_ITEM_BYTES as u64 + 1024;

const HEAD: &[u8] = b"{\"body\":[";
const TAIL: &[u8] = b"]}";

/// Valid rows on their way to becoming one job (or several, when the server
/// refuses the whole as too large).
pub(crate) struct Chunk {
    pub(crate) index: u64,
    /// The row number of each item, in item order.
    pub(crate) rows: Vec<u64>,
    /// `{"body":[…]}`.
    body: Vec<u8>,
    /// Where each item's text is in `body`.
    spans: Vec<(usize, usize)>,
}

impl Chunk {
    fn new(index: u64) -> Chunk {
        Chunk {
            index,
            rows: Vec::new(),
            body: HEAD.to_vec(),
            spans: Vec::new(),
        }
    }

    /// The request's bytes were `text` added.
    fn bytes_with(&self, text: &str) -> usize {
        self.body.len() + usize::from(!self.rows.is_empty()) + text.len() + TAIL.len()
    }

    fn push(&mut self, row: u64, text: &str) {
        if !self.rows.is_empty() {
            self.body.push(b',');
        }
        let start = self.body.len();
        self.body.extend_from_slice(text.as_bytes());
        self.spans.push((start, self.body.len()));
        self.rows.push(row);
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The request body of items `from..to`.
    pub(crate) fn body(&self, from: usize, to: usize) -> Cow<'_, [u8]> {
        if from == 0 && to == self.len() {
            let mut whole = self.body.clone();
            whole.extend_from_slice(TAIL);
            return whole.into();
        }
        let (start, end) = (self.spans[from].0, self.spans[to - 1].1);
        let mut part = Vec::with_capacity(end - start + HEAD.len() + TAIL.len());
        part.extend_from_slice(HEAD);
        part.extend_from_slice(&self.body[start..end]);
        part.extend_from_slice(TAIL);
        part.into()
    }
}

/// How chunks are cut.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) rows: usize,
    pub(crate) bytes: usize,
}

/// What the reader learnt about the whole file.
pub(crate) struct ReadEnd {
    /// Rows read.
    pub(crate) rows: u64,
    /// Of `rows`: refused locally (in the refusals spool).
    pub(crate) refused: u64,
    /// The file could not be read past `rows`: why.
    pub(crate) error: Option<String>,
}

/// Reads and checks every row (a blocking thread), sending full chunks on and
/// refused rows to `refusals`. Stops quietly when the chunks' receiver is gone.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_chunks(
    file: &Path,
    format: Format,
    batch_type: BatchType,
    limits: Limits,
    refusals: &mut Spool,
    progress: &Progress,
    file_bytes: u64,
    chunks: mpsc::Sender<Chunk>,
) -> ReadEnd {
    let (mut rows, mut refused, mut read_bytes) = (0u64, 0u64, 0u64);
    let mut current = Chunk::new(0);
    let stopped = "the import stopped";
    let send = |current: &mut Chunk| -> Result<(), String> {
        let next = Chunk::new(current.index + 1);
        // The submitter stopped (a fatal error): stop reading too.
        chunks
            .blocking_send(std::mem::replace(current, next))
            .map_err(|_| stopped.to_owned())
    };
    let mut spool_error = None;
    let read = input::for_each_row(file, format, batch_type, |row: Row<'_>| {
        rows += 1;
        let checked = row
            .item()
            .map_err(|why| (ErrorCode::MalformedPayload, why))
            .and_then(|text| match check(batch_type, &text) {
                Ok(()) => Ok(text),
                Err(f) => Err((f.code, f.message)),
            });
        match checked {
            Ok(text) => {
                read_bytes += text.len() as u64 + 1;
                if !current.rows.is_empty()
                    && (current.len() >= limits.rows || current.bytes_with(&text) > limits.bytes)
                {
                    send(&mut current)?;
                }
                current.push(row.number, &text);
            }
            Err((code, error)) => {
                refused += 1;
                let failure = Failure {
                    row: row.number,
                    code: code.code(),
                    error,
                };
                if let Err(e) = refusals.push(&failure) {
                    spool_error = Some(format!("writing the refused rows: {e}"));
                    return Err(stopped.to_owned());
                }
            }
        }
        if rows.is_multiple_of(1000) {
            let estimate = file_bytes.saturating_mul(rows) / read_bytes.max(1);
            progress.read(0, estimate);
        }
        Ok(())
    });
    let broken = match read {
        Ok(()) => None,
        // The import stopped reading (it cannot go on): nothing more is sent.
        Err(InputError::Stopped(why)) if why == stopped => {
            return ReadEnd {
                rows,
                refused,
                error: spool_error,
            };
        }
        Err(e) => Some(format!(
            "{} could not be read past row {rows}: {e}",
            file.display()
        )),
    };
    // The last rows, also those read before the file broke off.
    let sent = match current.rows.is_empty() {
        true => Ok(()),
        false => send(&mut current),
    };
    ReadEnd {
        rows,
        refused,
        error: broken.or(sent.err().filter(|e| e != stopped)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_gives_its_whole_body_or_any_run_of_its_items() {
        let mut c = Chunk::new(3);
        for (row, text) in [(1, "{\"a\":1}"), (4, "\"x\""), (5, "{}")] {
            c.push(row, text);
        }
        assert_eq!(&*c.body(0, 3), b"{\"body\":[{\"a\":1},\"x\",{}]}");
        assert_eq!(&*c.body(1, 3), b"{\"body\":[\"x\",{}]}");
        assert_eq!(&*c.body(0, 1), b"{\"body\":[{\"a\":1}]}");
        assert_eq!(c.bytes_with("{}"), c.body(0, 3).len() + 3);
    }
}
