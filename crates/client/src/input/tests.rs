use super::*;

fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Every row as (number, item or why not).
fn rows(p: &Path, format: Format, batch_type: BatchType) -> Vec<(u64, Result<String, String>)> {
    let mut rows = Vec::new();
    for_each_row(p, format, batch_type, |r| {
        rows.push((r.number, r.item()));
        Ok(())
    })
    .unwrap();
    rows
}

fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut bytes = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

#[test]
fn formats_come_from_the_extension_or_the_first_character() {
    let dir = tempfile::tempdir().unwrap();
    let detect = |p: &Path| Format::detect(p).unwrap();
    assert_eq!(detect(&file(&dir, "a.csv", b"[x")), Format::Csv);
    assert_eq!(detect(&file(&dir, "a.jsonl", b"[")), Format::Ndjson);
    assert_eq!(detect(&file(&dir, "a.json", b"  [{}]")), Format::Json);
    assert_eq!(
        detect(&file(&dir, "b.json", b"{\"customerId\": \"c\"}\n")),
        Format::Ndjson
    );
    assert_eq!(detect(&file(&dir, "c.json", b"\"o-1\"\n")), Format::Ndjson);
    assert_eq!(
        detect(&file(&dir, "export", b"customerId\nc1\n")),
        Format::Csv
    );
}

#[test]
fn a_byte_order_mark_is_not_content() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "a.json", b"\xEF\xBB\xBF[{\"customerId\": \"a\"}]");
    assert_eq!(Format::detect(&p).unwrap(), Format::Json);
    assert_eq!(
        rows(&p, Format::Json, BatchType::Customers),
        [(1, Ok(r#"{"customerId": "a"}"#.to_owned()))]
    );
    let p = file(&dir, "b.json", b"\xEF\xBB\xBF\n{\"customerId\": \"a\"}\n");
    assert_eq!(Format::detect(&p).unwrap(), Format::Ndjson);
    let p = file(&dir, "c.csv", b"\xEF\xBB\xBFcustomerId\nc1\n");
    assert_eq!(
        rows(&p, Format::Csv, BatchType::Customers),
        [(1, Ok(r#"{"customerId":"c1"}"#.to_owned()))]
    );
}

#[test]
fn utf16_with_a_mark_is_converted_and_without_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = "customerId,displayName\nc1,Zoë\n";
    let p = file(&dir, "le.csv", &utf16le(text, true));
    assert_eq!(
        rows(&p, Format::Csv, BatchType::Customers),
        [(
            1,
            Ok(r#"{"customerId":"c1","displayName":"Zoë"}"#.to_owned())
        )]
    );
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    let p = file(&dir, "be.csv", &be);
    assert_eq!(rows(&p, Format::Csv, BatchType::Customers).len(), 1);
    let p = file(&dir, "nobom.csv", &utf16le(text, false));
    assert!(matches!(open(&p), Err(InputError::Utf16WithoutBom)));
    assert!(matches!(
        Format::detect(&p),
        Err(InputError::Utf16WithoutBom)
    ));
}

#[test]
fn an_ndjson_line_that_is_not_utf8_or_not_json_fails_alone_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(
        &dir,
        "a.ndjson",
        b"{\"customerId\": \"a\"}\r\n\n{\"customerId\": \"R\xe9\"}\n{\"customerId\": \n\"o-1\"\n",
    );
    let got = rows(&p, Format::Ndjson, BatchType::Customers);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], (1, Ok(r#"{"customerId": "a"}"#.to_owned())));
    assert_eq!(
        got[1],
        (
            2,
            Err("line 3: not valid UTF-8 (byte 0xe9 at column 18); save the file as UTF-8".into())
        )
    );
    let (number, why) = &got[2];
    assert_eq!(*number, 3);
    let why = why.as_ref().unwrap_err();
    assert!(why.starts_with("line 4, column 15: not JSON (EOF"), "{why}");
    assert_eq!(got[3], (4, Ok("\"o-1\"".to_owned())));
}

#[test]
fn a_json_array_is_streamed_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(
        &dir,
        "a.json",
        br#"[{"customerId": "a"}, 7, {"customerId": "b"}]"#,
    );
    assert_eq!(
        rows(&p, Format::Json, BatchType::Customers),
        [
            (1, Ok(r#"{"customerId": "a"}"#.to_owned())),
            (2, Ok("7".to_owned())),
            (3, Ok(r#"{"customerId": "b"}"#.to_owned()))
        ]
    );
    let p = file(&dir, "b.json", br#"[{"customerId": "a"}, "#);
    let broken = for_each_row(&p, Format::Json, BatchType::Customers, |_| Ok(()));
    assert!(matches!(broken, Err(InputError::Json(_))));
}

#[test]
fn only_blank_files_and_bare_headers_are_empty_by_design() {
    let dir = tempfile::tempdir().unwrap();
    let empty = |name: &str, bytes: &[u8], format: Format| {
        empty_by_design(&file(&dir, name, bytes), format).unwrap()
    };
    assert!(empty("a", b"", Format::Csv));
    assert!(empty("b", b"\xEF\xBB\xBF \n", Format::Ndjson));
    assert!(empty("c", b"customerId,email\n", Format::Csv));
    assert!(empty("d", b" [ ] ", Format::Json));
    assert!(!empty("e", b"[{\"customerId\":\"a\"}]", Format::Csv));
    assert!(!empty("f", b"customerId,\n", Format::Csv));
}
