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
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChunkLine {
    chunk: u64,
    job_id: i64,
}

pub struct State {
    file: File,
    jobs: HashMap<u64, i64>,
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
                    jobs.insert(c.chunk, c.job_id);
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

    /// The jobs chunks became in earlier runs, by chunk index.
    pub fn known(&self) -> HashMap<u64, i64> {
        self.jobs.clone()
    }

    /// Records that chunk `index` is job `job_id` (durably, before going on).
    pub fn record(&mut self, index: u64, job_id: i64) -> Result<()> {
        writeln!(
            self.file,
            "{}",
            serde_json::to_string(&ChunkLine {
                chunk: index,
                job_id
            })?
        )?;
        self.file.sync_data()?;
        self.jobs.insert(index, job_id);
        Ok(())
    }
}
