//! Rows of every size and number: requests cut by bytes, a row over the
//! item limit, a 50 MB cell, five million failures in flat memory, a server
//! whose body limit is below the client's requests. Each is also killed with
//! SIGKILL midway and run again (every chunk or part becomes exactly one job).

use super::killed::{cells, failed_records, kill_when, killed_then_resumed, recorded};
use super::{exit_code_is, import_command, lines, ndjson, write};
use crate::common::*;
use serde_json::Value;
use server::HttpSettings;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

#[tokio::test]
async fn requests_are_cut_by_bytes_and_a_row_over_the_item_limit_fails_alone() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let note = "n".repeat(17_000);
    let mut text = String::new();
    for i in 1..=1000 {
        text.push_str(&format!(
            "{{\"customerId\":\"big{i}\",\"customerAttributes\":{{\"custom\":{{\"note\":\"{note}\"}}}}}}\n"
        ));
        if i == 500 {
            let huge = "h".repeat(70_000);
            text.push_str(&format!(
                "{{\"customerId\":\"huge\",\"displayName\":\"{huge}\"}}\n"
            ));
        }
    }
    assert!(
        text.len() > 16 << 20,
        "more than the server's body limit in all"
    );
    let file = write(dir.path(), "big.ndjson", &text);
    let out = dir.path().join("out");
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &[], |o| recorded(o) >= 1).await;
    let summary = exit_code_is(&done, 2);
    // 4 MiB requests: 241 rows of ~17 KB each.
    assert!(
        summary.starts_with(
            "1001 rows: 1000 succeeded, 1 failed (1 refused before sending) in 5 jobs"
        ),
        "{summary}"
    );
    assert_eq!(s.job_count(&s.a).await, 5);
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 1000);
    let failed = lines(&out.join("failed.csv"));
    assert_eq!(failed.len(), 2);
    assert!(
        failed[1].starts_with("501,3011,item: larger than 65536 bytes,"),
        "{}",
        &failed[1][..80]
    );
    let original = lines(&out.join("failed.ndjson"));
    assert_eq!(
        original,
        [text.lines().nth(500).unwrap()],
        "the row is written whole"
    );
    engine.abort();
}

#[tokio::test]
async fn a_50_mb_cell_fails_its_row_alone() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cell.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(f, "customerId,email,customerAttributes.custom.notes").unwrap();
    writeln!(f, "c1,a@example.com,").unwrap();
    write!(f, "c2,b@example.com,").unwrap();
    let block = "z".repeat(1 << 20);
    for _ in 0..50 {
        f.write_all(block.as_bytes()).unwrap();
    }
    writeln!(f).unwrap();
    writeln!(f, "c3,c@example.com,short").unwrap();
    drop(f);
    let out = dir.path().join("out");
    let extra = ["--chunk-size", "1"];
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &extra, |o| recorded(o) >= 1).await;
    let summary = exit_code_is(&done, 2);
    assert!(
        summary.starts_with("3 rows: 2 succeeded, 1 failed (1 refused before sending) in 2 jobs"),
        "{summary}"
    );
    assert_eq!(s.job_count(&s.a).await, 2);
    let failed = failed_records(&out);
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[1][2].len(), 50 << 20, "the cell is written whole");
    assert_eq!(
        failed[1][3..],
        cells(&["2", "3011", "item: larger than 65536 bytes"])
    );
    engine.abort();
}

/// The peak resident memory of a running child, read from `/proc` until it ends.
async fn run_measuring_peak_kib(mut cmd: std::process::Command) -> (Output, u64) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watch = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let Ok(text) = tokio::fs::read_to_string(&status).await else {
                    return;
                };
                let hwm = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                match hwm {
                    Some(kib) => peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed),
                    None => return, // a zombie: it has ended
                };
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    watch.await.unwrap();
    (output, peak.load(std::sync::atomic::Ordering::Relaxed))
}

#[tokio::test]
async fn five_million_failing_rows_keep_memory_flat() {
    const ROWS: u64 = 5_000_000;
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("failing.ndjson");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for i in 1..=ROWS {
        match i % 1_000_000 {
            0 => writeln!(f, "{{\"customerId\": \"m{i}\"}}").unwrap(),
            _ => writeln!(f, "{{\"email\": \"a@b.c\"}}").unwrap(),
        }
    }
    drop(f);
    let out = dir.path().join("out");
    // Killed while it reads and spools its failures, then run again, measured.
    let spool = out.join(".refused.spool");
    let child = import_command(&s, "customers", &file, &out, &[])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    kill_when(child, || {
        std::fs::metadata(&spool).is_ok_and(|m| m.len() > 10 << 20)
    })
    .await;
    let engine = tokio::spawn(s.engine.clone().run(engine::Shutdown::new()));
    let (done, peak_kib) =
        run_measuring_peak_kib(import_command(&s, "customers", &file, &out, &[])).await;
    let summary = exit_code_is(&done, 2);
    assert!(
        summary.starts_with(
            "5000000 rows: 5 succeeded, 4999995 failed (4999995 refused before sending) in 1 jobs"
        ),
        "{summary}"
    );
    assert!(
        peak_kib < 100 * 1024,
        "the client's memory does not grow with its failures: peak {peak_kib} KiB"
    );
    eprintln!("peak resident memory of a 5,000,000-failure import: {peak_kib} KiB");
    {
        let mut count = 0u64;
        let mut csv = csv::Reader::from_path(out.join("failed.csv")).unwrap();
        let mut record = csv::ByteRecord::new();
        let mut last = 0;
        while csv.read_byte_record(&mut record).unwrap() {
            let row: u64 = std::str::from_utf8(&record[0]).unwrap().parse().unwrap();
            assert!(row > last, "in row order");
            last = row;
            count += 1;
        }
        assert_eq!(count, ROWS - 5);
    }
    assert_eq!(
        s.job_count(&s.a).await,
        1,
        "the valid rows became one job, once"
    );
    engine.abort();
}

#[tokio::test]
async fn a_server_with_a_smaller_body_limit_gets_each_chunk_in_halves() {
    let s = TestServer::start(Options {
        http: HttpSettings {
            max_body_bytes: 32 * 1024,
            ..HttpSettings::default()
        },
        ..Options::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let name = "k".repeat(900);
    let mut text = String::new();
    for i in 1..=1000 {
        text.push_str(&format!("{{\"customerId\": \"h{i}\", \"customerAttributes\": {{\"custom\": {{\"n\": \"{name}\"}}}}}}\n"));
        if i == 700 {
            // A valid item, too large for this server's requests on its own.
            let wide = "w".repeat(40_000);
            text.push_str(&format!("{{\"customerId\": \"wide\", \"customerAttributes\": {{\"custom\": {{\"n\": \"{wide}\"}}}}}}\n"));
        }
    }
    let file = write(dir.path(), "halves.ndjson", &text);
    let out = dir.path().join("out");
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &[], |o| recorded(o) >= 3).await;
    let summary = exit_code_is(&done, 2);
    assert!(
        summary.starts_with("1001 rows: 1000 succeeded, 1 failed (0 refused before sending)"),
        "{summary}"
    );
    let state: Vec<Value> = ndjson(&out.join("import-state.ndjson"))[1..].to_vec();
    let parts = state.iter().filter(|l| l["chunk"] == 0).count();
    assert!(
        parts > 30
            && state
                .iter()
                .filter(|l| l["chunk"] == 0)
                .all(|l| l["from"].is_u64() && l["to"].is_u64()),
        "the first chunk of 1,000 rows went in parts: {parts}"
    );
    let jobs: std::collections::BTreeSet<i64> =
        state.iter().map(|l| l["jobId"].as_i64().unwrap()).collect();
    assert_eq!(
        s.job_count(&s.a).await,
        jobs.len(),
        "each part became exactly one job"
    );
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 1000);
    let failed = failed_records(&out);
    assert_eq!(failed[1][..2], cells(&["701", "3011"]));
    assert!(
        failed[1][2].starts_with(b"the server refused this row alone as too large a request"),
        "{}",
        String::from_utf8_lossy(&failed[1][2])
    );
    engine.abort();
}
