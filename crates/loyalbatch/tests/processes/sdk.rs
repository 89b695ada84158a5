//! Gameball's own Python SDK (`gb-alpha` 3.0 from PyPI, API v3.0) against a real
//! server, its base URL the only change: `tests/sdk/gameball_python.py` makes
//! every call an integration makes and checks the answers. It runs when
//! `LOYALBATCH_GAMEBALL_PYTHON` names a Python with `gb-alpha` installed
//! (`.ci/run` installs it beside schemathesis).

use crate::node::*;
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/gameball_python.py");

#[test]
fn gameballs_python_sdk_works_unchanged() {
    let Some(python) = std::env::var_os("LOYALBATCH_GAMEBALL_PYTHON") else {
        eprintln!(
            "skipped the Gameball SDK test: set LOYALBATCH_GAMEBALL_PYTHON to a Python with gb-alpha 3.0"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        &format!("sqlite://{}", dir.path().join("sdk.db").display()),
        &[],
        true,
    );
    let out = Command::new(python)
        .arg(SCRIPT)
        .args([&node.url, APIKEY, SECRET])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the SDK script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
