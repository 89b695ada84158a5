//! `loyalbatch-bench import`: a generated customers CSV imported end to end by a separate client process (`client::import`) into an in-process server on a fresh database; rows per second and the client's peak memory.

use crate::backend::{Backend, temp_dir};
use crate::cpu::Stopwatch;
use crate::instance::Instance;
use crate::stats::per_second;
use crate::workload;
use anyhow::{Context, Result, ensure};
use engine::EngineConfig;
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Stdio;

const COLUMNS: [&str; 11] = [
    "customerId",
    "email",
    "name",
    "gender",
    "dateOfBirth",
    "joinDate",
    "tags",
    "custom.segment",
    "custom.score",
    "customerAttributes.city",
    "customerAttributes.country",
];

/// Writes customers `0..rows` as CSV, the workload's customers flattened by dotted headers.
fn write_csv(path: &Path, rows: usize) -> Result<u64> {
    let mut out = csv::Writer::from_writer(BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path)?,
    ));
    out.write_record(COLUMNS)?;
    for i in 0..rows {
        let c = workload::customer("c", i);
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let tags: Vec<String> = c["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        out.write_record([
            text(&c["customerId"]),
            text(&c["email"]),
            text(&c["name"]),
            text(&c["gender"]),
            text(&c["dateOfBirth"]),
            text(&c["joinDate"]),
            tags.join(";"),
            text(&c["custom"]["segment"]),
            text(&c["custom"]["score"]),
            text(&c["customerAttributes"]["city"]),
            text(&c["customerAttributes"]["country"]),
        ])?;
    }
    out.into_inner()
        .map_err(|e| anyhow::anyhow!("writing the CSV: {e}"))?
        .flush()?;
    Ok(std::fs::metadata(path)?.len())
}

pub async fn run(
    backend: &Backend,
    rows: usize,
    parallel: usize,
    config: EngineConfig,
    json_out: bool,
    date: String,
) -> Result<()> {
    let dir = temp_dir()?;
    let file = dir.path().join("customers.csv");
    eprintln!("1/2 writing a {rows}-row customers CSV…");
    let bytes = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || write_csv(&file, rows)).await??
    };
    eprintln!("2/2 importing it with a separate client process…");
    let mut instance = Instance::start(backend, config).await?;
    instance.start_engine();
    let (base, apikey, secret) = instance.server_and_keys();
    let exe = std::env::current_exe()?;
    let watch = Stopwatch::start()?;
    let child = tokio::process::Command::new(exe)
        .arg(crate::import_child::NAME)
        .args([
            "--server",
            &base,
            "--apikey",
            &apikey,
            "--secretkey",
            &secret,
        ])
        .arg("--file")
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--parallel", &parallel.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let output = child.wait_with_output().await?;
    let lap = watch.lap()?;
    ensure!(
        output.status.success(),
        "the import client failed: {}",
        output.status
    );
    let child: Value =
        serde_json::from_slice(&output.stdout).context("the import client's summary")?;
    ensure!(
        child["succeeded"] == json!(rows) && child["failed"] == json!(0),
        "{rows} rows imported but the client reported {child}"
    );
    let stored = instance.customer_rows().await?;
    ensure!(
        stored == rows,
        "{rows} rows imported but {stored} customers stored"
    );
    instance.stop().await?;

    let rate = per_second(rows, lap.elapsed);
    let peak_mib = child["peakRssKib"].as_f64().unwrap_or(0.0) / 1024.0;
    let report = json!({
        "date": date,
        "backend": backend.name(),
        "rows": rows,
        "fileBytes": bytes,
        "parallel": parallel,
        "seconds": lap.elapsed.as_secs_f64(),
        "rowsPerSecond": rate.round(),
        "machineCoresBusy": lap.machine_cores_busy,
        "clientPeakRssMib": peak_mib,
        "jobs": child["jobs"],
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("loyalbatch import benchmark — {date}");
        println!(
            "{rows} customers in a {:.0} MiB CSV → `loyalbatch import` (separate process, {parallel} requests in flight) → {} server in process",
            bytes as f64 / 1048576.0,
            backend.name()
        );
        println!(
            "end to end (client start → every job done, results written): {:.2} s = {rate:.0} rows/s, machine {:.2} cores busy",
            lap.elapsed.as_secs_f64(),
            lap.machine_cores_busy
        );
        println!("client peak RSS: {peak_mib:.1} MiB (target ≤ 100 MiB)");
    }
    Ok(())
}
