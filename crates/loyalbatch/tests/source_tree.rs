//! The shape of the code, checked: no source file a reader cannot hold, and
//! the doors (the v4 and v3 handlers, the console) reach the store, the
//! workers and the metrics only through the application layer.

use std::path::{Path, PathBuf};

/// The workspace's `crates/` folder.
fn crates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The longest source file (generated files aside; there are none under `crates/`).
const MAX_LINES: usize = 500;

#[test]
fn no_source_file_is_over_500_lines() {
    let mut files = Vec::new();
    rust_files(&crates(), &mut files);
    assert!(files.len() > 100, "found only {} files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these: {long:#?}");
}

/// What a door never does itself: reach the store, wake the workers, count a metric.
const APPLICATION_LAYER_ONLY: [&str; 9] = [
    ".store",
    "Store",
    "waker",
    "Waker",
    "engine::",
    "metrics::",
    "counter!",
    "histogram!",
    "gauge!",
];

#[test]
fn the_doors_call_only_the_application_layer() {
    let mut files = Vec::new();
    for door in ["server/src/handlers", "server/src/v3", "console/src"] {
        rust_files(&crates().join(door), &mut files);
    }
    assert!(files.len() > 15, "found only {} files", files.len());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in APPLICATION_LAYER_ONLY {
                if code.contains(word) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a door goes around the application layer: {found:#?}"
    );
}
