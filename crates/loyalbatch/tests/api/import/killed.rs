//! What the hostile-file tests share: an import killed with SIGKILL midway
//! and run again, and `failed.csv` read back as bytes whatever its widths.

use super::{import, import_command, lines};
use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Chunks the import has recorded as jobs.
pub(super) fn recorded(out: &Path) -> usize {
    let state = out.join("import-state.ndjson");
    match state.exists() {
        true => lines(&state).len().saturating_sub(1),
        false => 0,
    }
}

/// Starts the import on a paused server, kills it (SIGKILL) once `ready`
/// holds, then starts the workers and runs the same command to its end.
pub(super) async fn killed_then_resumed(
    s: &TestServer,
    batch_type: &str,
    file: &Path,
    out: &Path,
    extra: &[&str],
    ready: impl Fn(&Path) -> bool,
) -> (Output, tokio::task::JoinHandle<()>) {
    let child = import_command(s, batch_type, file, out, extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_when(child, || ready(out)).await;
    let engine = tokio::spawn(s.engine.clone().run(engine::Shutdown::new()));
    (import(s, batch_type, file, out, extra).await, engine)
}

/// Kills `child` (SIGKILL) once `ready` holds; fails if it ends first.
pub(super) async fn kill_when(mut child: std::process::Child, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "the import never got there");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// `failed.csv`'s records (header included) as bytes, whatever their widths.
pub(super) fn failed_records(out: &Path) -> Vec<Vec<Vec<u8>>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(out.join("failed.csv"))
        .unwrap()
        .byte_records()
        .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
        .collect()
}

pub(super) fn cells(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

pub(super) async fn customer(s: &TestServer, id: &str) -> Value {
    let (status, body) = read(
        s.as_a(reqwest::Method::GET, &format!("{BASE}/customers/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{id}: {body}");
    body
}
