//! The OpenAPI document against the running server: schemathesis generates
//! requests from `/api/openapi.json` (valid and invalid ones, and chains that
//! follow the document's links) and checks every answer — no 5xx, a documented
//! status, the documented content type, a body matching its schema. It runs when
//! `LOYALBATCH_SCHEMATHESIS` names the `schemathesis` executable (`.ci/run`
//! installs it in a virtual environment); on both backends.

use crate::node::*;
use std::path::PathBuf;
use std::process::Command;
use test_support::postgres::TestDatabase;

const CONFIG: &str = r#"
[cache]
enabled = false
[warnings]
# Wrong keys would make every answer a documented 401: refuse to pass that way.
fail-on = ["missing_auth"]
[phases.coverage]
# Methods a route does not have answer 405; the document lists the routes' own.
unexpected-methods = []
"#;

fn schemathesis() -> Option<PathBuf> {
    let path = std::env::var_os("LOYALBATCH_SCHEMATHESIS").map(PathBuf::from);
    if path.is_none() {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped the OpenAPI contract test: set LOYALBATCH_SCHEMATHESIS to the schemathesis executable"
        );
    }
    path
}

fn check_contract(executable: &PathBuf, node: &Node) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let output = Command::new(executable)
        .current_dir(dir.path())
        .env("HYPOTHESIS_STORAGE_DIRECTORY", dir.path().join("hypothesis"))
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/api/openapi.json", node.url))
        .args(["--url", &node.url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["-H", &format!("apikey: {APIKEY}")])
        .args(["-H", &format!("secretkey: {SECRET}")])
        .args(["--max-examples", "20", "--seed", "42", "--workers", "1"])
        .args(["--generation-database", "none", "--no-color"])
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = stdout.lines().rev().take(60).collect();
    let summary: Vec<&str> = summary.into_iter().rev().collect();
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("passed") && !stdout.contains(" 0 passed"),
        "schemathesis tested nothing:\n{}",
        summary.join("\n")
    );
}

#[test]
fn the_openapi_contract_holds_on_sqlite() {
    let Some(executable) = schemathesis() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let node = Node::start(&url, &[], true);
    check_contract(&executable, &node);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_contract_holds_on_postgres() {
    let Some(executable) = schemathesis() else {
        return;
    };
    let Some(db) = TestDatabase::create().await else {
        eprintln!(
            "skipped the OpenAPI contract test on PostgreSQL: set LOYALBATCH_TEST_POSTGRES_URL"
        );
        return;
    };
    let node = Node::start(&db.url(), &[], true);
    tokio::task::spawn_blocking(move || check_contract(&executable, &node))
        .await
        .unwrap();
}
