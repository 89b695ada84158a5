//! The import's progress on disk (`DIR/import-state.ndjson`): which file it is, and the job each submitted chunk became — so a killed import resumes without submitting anything twice.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "import-state.ndjson";

/// What makes two runs the same import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fingerprint {
    pub version: u32,
    #[serde(rename = "type")]
    pub batch_type: String,
    pub file: PathBuf,
    pub bytes: u64,
    /// SHA-256 of the file's first and last MiB (a changed file is noticed without reading it all).
    pub sample: String,
    pub chunk_size: usize,
    /// Bytes per request (version 2 on; version 1 cut chunks by rows only).
    #[serde(default)]
    pub chunk_bytes: Option<u64>,
}

/// The version of the state this client writes.
pub const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChunkLine {
    chunk: u64,
    job_id: i64,
    /// A part of the chunk (items `from..to`) when the server refused it whole as too large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<usize>,
}

/// The jobs chunks became in earlier runs: by chunk index and item range
/// (`0..WHOLE` for a whole chunk).
pub type Known = HashMap<(u64, usize, usize), i64>;

/// The item range recorded for a whole chunk.
pub const WHOLE: usize = usize::MAX;

pub struct State {
    file: File,
    jobs: Known,
}

impl State {
    /// Opens the state of `fingerprint`'s import in `dir`, creating it when new;
    /// refuses a directory that holds another import's state.
    pub fn open(dir: &Path, fingerprint: &Fingerprint) -> Result<State> {
        let path = dir.join(FILE_NAME);
        let mut jobs = HashMap::new();
        if path.exists() {
            let mut lines = BufReader::new(File::open(&path)?).lines();
            let header: Fingerprint = match lines.next() {
                Some(line) => serde_json::from_str(&line?)
                    .with_context(|| format!("{} is damaged", path.display()))?,
                None => fingerprint.clone(),
            };
            if header.version < VERSION && header.file == fingerprint.file {
                bail!(
                    "{} holds the state of an import started by an older loyalbatch (state version {}); finish it with that version, or use another --out directory",
                    path.display(),
                    header.version
                );
            }
            if &header != fingerprint {
                bail!(
                    "{} holds the state of another import ({} of {}); use another --out directory or remove it",
                    path.display(),
                    header.batch_type,
                    header.file.display()
                );
            }
            for line in lines {
                let line = line?;
                // A line cut short by a kill is ignored: that chunk is submitted again,
                // and its idempotency key answers the same job.
                if let Ok(c) = serde_json::from_str::<ChunkLine>(&line) {
                    let range = (c.from.unwrap_or(0), c.to.unwrap_or(WHOLE));
                    jobs.insert((c.chunk, range.0, range.1), c.job_id);
                }
            }
        }
        let fresh = !path.exists() || std::fs::metadata(&path)?.len() == 0;
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        if fresh {
            writeln!(file, "{}", serde_json::to_string(fingerprint)?)?;
            file.sync_data()?;
        }
        Ok(State { file, jobs })
    }

    /// The jobs chunks became in earlier runs.
    pub fn known(&self) -> Known {
        self.jobs.clone()
    }

    /// Records that items `range` of chunk `index` (`None`: all of them) are
    /// job `job_id` (durably, before going on).
    pub fn record(&mut self, index: u64, range: Option<(usize, usize)>, job_id: i64) -> Result<()> {
        let line = ChunkLine {
            chunk: index,
            job_id,
            from: range.map(|r| r.0),
            to: range.map(|r| r.1),
        };
        writeln!(self.file, "{}", serde_json::to_string(&line)?)?;
        self.file.sync_data()?;
        let (from, to) = range.unwrap_or((0, WHOLE));
        self.jobs.insert((index, from, to), job_id);
        Ok(())
    }
}
