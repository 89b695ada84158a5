//! Files as merchants have them — ragged rows, bytes that are not UTF-8,
//! formulas, byte-order marks, UTF-16, files that break off or yield nothing:
//! each imports what can be imported, writes every failure with its reason,
//! prints its summary and exits with the documented code, also when killed
//! with SIGKILL midway and run again (every chunk becomes exactly one job).

use super::killed::{cells, customer, failed_records, killed_then_resumed, recorded};
use super::{exit_code_is, import, lines, ndjson, write};
use crate::common::*;

#[tokio::test]
async fn ragged_rows_and_stray_bytes_are_written_whole_with_their_reasons() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv: Vec<u8> = b"customerId,name,dateOfBirth,customerAttributes.city\n".to_vec();
    csv.extend_from_slice(b"c1,Ann,1990-01-01,Cairo\n");
    csv.extend_from_slice(b"c2,Bob,1991-02-03,Giza,EXTRA,\"=HYPERLINK(\"\"http://x\"\")\"\n");
    csv.extend_from_slice(b"c3,Short\n");
    csv.extend_from_slice(b",Nobody\n");
    csv.extend_from_slice(b"c5,Ren\xe9,1992-03-04,Paris\n");
    csv.extend_from_slice(b"c6,@SUM(A1),1990-02-30,+cmd|' /C calc'!A0\n");
    for i in 10..20 {
        csv.extend_from_slice(format!("c{i},Valid {i},1980-01-{:02},Tanta\n", i - 9).as_bytes());
    }
    let file = dir.path().join("ragged.csv");
    std::fs::write(&file, &csv).unwrap();
    let out = dir.path().join("out");
    let extra = ["--chunk-size", "2", "--ahead", "10"];
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &extra, |o| recorded(o) >= 2).await;
    let summary = exit_code_is(&done, 2);
    assert!(
        summary.starts_with("16 rows: 12 succeeded, 4 failed (4 refused before sending) in 6 jobs"),
        "{summary}"
    );
    assert_eq!(s.job_count(&s.a).await, 6, "every chunk became one job");
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 12);
    assert_eq!(
        customer(&s, "c3").await["customerAttributes"]["displayName"],
        "Short"
    );

    let failed = failed_records(&out);
    assert_eq!(failed.len(), 5, "{failed:?}");
    assert_eq!(
        failed[0],
        cells(&[
            "customerId",
            "name",
            "dateOfBirth",
            "customerAttributes.city",
            "row",
            "code",
            "error"
        ])
    );
    // Cut to the header's width, the extra cells after the error, the formula guarded.
    assert_eq!(
        failed[1],
        cells(&[
            "c2",
            "Bob",
            "1991-02-03",
            "Giza",
            "2",
            "3016",
            "row has 6 cells but the header has 4 columns",
            "EXTRA",
            "'=HYPERLINK(\"http://x\")"
        ])
    );
    // A short row padded to the header's width.
    assert_eq!(
        failed[2],
        cells(&["", "Nobody", "", "", "4", "3000", "customerId: required"])
    );
    // The byte that is not UTF-8 kept as it was, the reason naming line and column.
    assert_eq!(failed[3][1], b"Ren\xe9");
    assert_eq!(
        failed[3][4..],
        cells(&[
            "5",
            "3016",
            "line 6, column name: not valid UTF-8 (byte 0xe9); save the file as UTF-8"
        ])
    );
    assert_eq!(
        failed[4][..4],
        cells(&["c6", "'@SUM(A1)", "1990-02-30", "'+cmd|' /C calc'!A0"])
    );
    assert_eq!(failed[4][4], b"6");

    // The fixed file is failed.csv itself: its guarded cells read back as they were.
    let fixed = dir.path().join("fixed.csv");
    let text = std::fs::read(out.join("failed.csv")).unwrap();
    std::fs::write(&fixed, text).unwrap();
    let again = import(&s, "customers", &fixed, &dir.path().join("again"), &[]).await;
    exit_code_is(&again, 2);
    engine.abort();
}

#[tokio::test]
async fn a_json_file_with_a_byte_order_mark_is_read_as_json() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(
        br#"[{"customerId": "j1"}, {"customerId": "j2"}, {"email": "j3@example.com"}]"#,
    );
    std::fs::write(&file, bytes).unwrap();
    let out = dir.path().join("out");
    let extra = ["--chunk-size", "1"];
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &extra, |o| recorded(o) >= 1).await;
    let summary = exit_code_is(&done, 2);
    assert!(
        summary.starts_with("3 rows: 2 succeeded, 1 failed"),
        "{summary}"
    );
    assert_eq!(s.job_count(&s.a).await, 2);
    assert_eq!(
        lines(&out.join("failed.ndjson")),
        [r#"{"email": "j3@example.com"}"#]
    );
    engine.abort();
}

fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut bytes = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

#[tokio::test]
async fn utf16_with_a_byte_order_mark_imports_and_without_one_is_refused_with_a_hint() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let text = "customerId,name\r\nu1,Zoë\r\nu2,محمد\r\nu3,Łukasz\r\n";
    let file = dir.path().join("spreadsheet.csv");
    std::fs::write(&file, utf16le(text, true)).unwrap();
    let out = dir.path().join("out");
    let extra = ["--chunk-size", "1"];
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &extra, |o| recorded(o) >= 1).await;
    let summary = exit_code_is(&done, 0);
    assert!(
        summary.starts_with("3 rows: 3 succeeded, 0 failed"),
        "{summary}"
    );
    assert_eq!(s.job_count(&s.a).await, 3);
    assert_eq!(
        customer(&s, "u2").await["customerAttributes"]["displayName"],
        "محمد"
    );
    assert_eq!(
        customer(&s, "u3").await["customerAttributes"]["displayName"],
        "Łukasz"
    );

    let bare = dir.path().join("bare.csv");
    std::fs::write(&bare, utf16le(text, false)).unwrap();
    let done = import(&s, "customers", &bare, &dir.path().join("bare"), &[]).await;
    exit_code_is(&done, 1);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("looks like UTF-16 without a byte-order mark; save it as UTF-8"),
        "{stderr}"
    );
    assert_eq!(s.job_count(&s.a).await, 3, "nothing was sent");
    engine.abort();
}

#[tokio::test]
async fn a_line_that_is_not_utf8_or_not_json_fails_alone_with_its_line_number() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for i in 1..=2000 {
        match i {
            500 => bytes.extend_from_slice(b"{\"customerId\": \"caf\xe9\"}\n"),
            1500 => bytes.extend_from_slice(b"{\"customerId\": \"x\",}\n"),
            _ => bytes.extend_from_slice(format!("{{\"customerId\": \"n{i}\"}}\n").as_bytes()),
        }
    }
    let file = dir.path().join("lines.ndjson");
    std::fs::write(&file, &bytes).unwrap();
    let out = dir.path().join("out");
    let extra = ["--chunk-size", "100", "--ahead", "30"];
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &extra, |o| recorded(o) >= 3).await;
    let summary = exit_code_is(&done, 2);
    assert!(
        summary.starts_with(
            "2000 rows: 1998 succeeded, 2 failed (2 refused before sending) in 20 jobs"
        ),
        "{summary}"
    );
    assert_eq!(s.job_count(&s.a).await, 20);
    let failed = failed_records(&out);
    assert_eq!(failed.len(), 3);
    assert_eq!(
        failed[1][..3],
        cells(&[
            "500",
            "3016",
            "line 500: not valid UTF-8 (byte 0xe9 at column 20); save the file as UTF-8"
        ])
    );
    assert_eq!(failed[2][..2], cells(&["1500", "3016"]));
    assert!(
        failed[2][2].starts_with(b"line 1500, column 20: not JSON ("),
        "{}",
        String::from_utf8_lossy(&failed[2][2])
    );
    let original = std::fs::read(out.join("failed.ndjson")).unwrap();
    assert_eq!(
        original, b"{\"customerId\": \"caf\xe9\"}\n{\"customerId\": \"x\",}\n",
        "the lines are written back byte for byte"
    );
    engine.abort();
}

#[tokio::test]
async fn a_file_that_yields_no_rows_is_an_error_unless_it_is_empty() {
    let s = TestServer::running().await;
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.csv", ""),
        ("header.csv", "customerId,email\n"),
        ("blank.ndjson", "\n\n"),
    ] {
        let file = write(dir.path(), name, text);
        let done = import(
            &s,
            "customers",
            &file,
            &dir.path().join(format!("out-{name}")),
            &[],
        )
        .await;
        let summary = exit_code_is(&done, 0);
        assert!(
            summary.starts_with("0 rows: 0 succeeded, 0 failed"),
            "{name}: {summary}"
        );
    }
    let file = write(
        dir.path(),
        "array.txt",
        r#"[{"customerId": "a"}, {"customerId": "b"}]"#,
    );
    let done = import(
        &s,
        "customers",
        &file,
        &dir.path().join("misread"),
        &["--format", "csv"],
    )
    .await;
    let summary = exit_code_is(&done, 1);
    assert!(
        summary.starts_with("0 rows"),
        "the summary still prints: {summary}"
    );
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("no rows were read from") && stderr.contains("as CSV"),
        "{stderr}"
    );
    assert_eq!(s.job_count(&s.a).await, 0);
}

#[tokio::test]
async fn a_json_array_that_breaks_off_imports_the_rows_before_and_says_where() {
    let s = TestServer::paused().await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("[");
    for i in 1..=2500 {
        text.push_str(&format!("{{\"customerId\": \"b{i}\"}},"));
    }
    text.push_str("{\"customerId\": ");
    let file = write(dir.path(), "cut.json", &text);
    let out = dir.path().join("out");
    let (done, engine) =
        killed_then_resumed(&s, "customers", &file, &out, &[], |o| recorded(o) >= 1).await;
    let summary = exit_code_is(&done, 1);
    assert!(
        summary.starts_with(
            "2500 rows: 2500 succeeded, 0 failed (0 refused before sending) in 3 jobs"
        ),
        "{summary}"
    );
    assert!(summary.contains("stopped before row 2501"), "{summary}");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("could not be read past row 2500"),
        "{stderr}"
    );
    assert_eq!(
        s.job_count(&s.a).await,
        3,
        "the rows before the break, once"
    );
    assert_eq!(s.count_rows("SELECT count(*) FROM customers").await, 2500);
    assert_eq!(ndjson(&out.join("successful.ndjson")).len(), 2500);
    engine.abort();
}

#[tokio::test]
async fn results_that_cannot_be_written_still_leave_a_summary_and_exit_1() {
    let s = TestServer::running().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "two.csv",
        "customerId,dateOfBirth\nw1,1990-01-01\nw2,1990-02-30\n",
    );
    let out = dir.path().join("out");
    // Where failed.csv would be written, a directory is in the way.
    std::fs::create_dir_all(out.join("failed.csv.part")).unwrap();
    let done = import(&s, "customers", &file, &out, &[]).await;
    let summary = exit_code_is(&done, 1);
    assert!(
        summary.starts_with("2 rows: 1 succeeded, 1 failed"),
        "{summary}"
    );
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(stderr.contains("writing the failed rows to"), "{stderr}");
    assert_eq!(ndjson(&out.join("successful.ndjson")).len(), 1);
}
