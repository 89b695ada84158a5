//! A chunk into jobs: submitted whole with an idempotency key derived from
//! its content and position; when the server refuses it as too large (413, a
//! body limit below `--chunk-bytes`) it is halved and each half submitted the
//! same way, down to a single row, which then fails alone (3011). The halving
//! depends only on the chunk and the server's answers, so a resumed import
//! sends the same parts with the same keys.

use crate::api::{Api, ApiError};
use crate::chunks::Chunk;
use crate::state::{Known, WHOLE};
use anyhow::{Context, Result};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use wire::{BatchType, ErrorCode};

/// What became of items `from..to` of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A job; `new` when this run created (or first heard of) it.
    Job { id: i64, new: bool },
    /// A single row the server refused as too large a request.
    TooLarge { code: u32, error: String },
}

/// Submits `chunk`, in parts when the server refuses it whole; its parts in item order.
pub(crate) async fn submit(
    api: &Api,
    batch_type: BatchType,
    chunk: &Chunk,
    known: &Known,
) -> Result<Vec<Part>> {
    let n = chunk.len();
    let mut todo = vec![(0, n)];
    let mut parts = Vec::new();
    while let Some((from, to)) = todo.pop() {
        let whole = from == 0 && to == n;
        let recorded = whole
            .then(|| known.get(&(chunk.index, 0, WHOLE)))
            .flatten()
            .or_else(|| known.get(&(chunk.index, from, to)));
        if let Some(id) = recorded {
            parts.push(Part {
                from,
                to,
                outcome: Outcome::Job {
                    id: *id,
                    new: false,
                },
            });
            continue;
        }
        let body = chunk.body(from, to);
        let key = match whole {
            true => idempotency_key(batch_type, chunk.index, &body),
            false => part_key(batch_type, chunk.index, from, to, &body),
        };
        let outcome = match api.submit(batch_type, &body, Some(&key)).await {
            Ok(id) => Outcome::Job { id, new: true },
            Err(e) if too_large(&e) && to - from > 1 => {
                let middle = from + (to - from) / 2;
                todo.extend([(middle, to), (from, middle)]);
                continue;
            }
            Err(e) if too_large(&e) => Outcome::TooLarge {
                code: ErrorCode::LimitExceeded.code(),
                error: format!(
                    "the server refused this row alone as too large a request ({} bytes): {e}",
                    body.len()
                ),
            },
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "submitting rows {}–{}",
                        chunk.rows[from],
                        chunk.rows[to - 1]
                    )
                });
            }
        };
        parts.push(Part { from, to, outcome });
    }
    Ok(parts)
}

fn too_large(e: &ApiError) -> bool {
    match e {
        ApiError::Refused { status, .. } | ApiError::Unexpected { status, .. } => {
            *status == StatusCode::PAYLOAD_TOO_LARGE
        }
        _ => false,
    }
}

/// The idempotency key of chunk `index`: the same file re-imported sends the same
/// chunks with the same keys, and the server answers the jobs it already has.
pub fn idempotency_key(batch_type: BatchType, index: u64, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(batch_type.as_str().as_bytes());
    h.update([0]);
    h.update(index.to_be_bytes());
    h.update(body);
    format!("lbimport-{}", &hex::encode(h.finalize())[..48])
}

/// The idempotency key of items `from..to` of chunk `index`.
fn part_key(batch_type: BatchType, index: u64, from: usize, to: usize, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(batch_type.as_str().as_bytes());
    h.update([1]);
    h.update(index.to_be_bytes());
    h.update((from as u64).to_be_bytes());
    h.update((to as u64).to_be_bytes());
    h.update(body);
    format!("lbimport-{}", &hex::encode(h.finalize())[..48])
}
