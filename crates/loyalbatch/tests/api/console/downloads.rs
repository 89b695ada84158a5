//! The console's failed-items downloads of a large job: written range by range
//! (every failure of a 1,000-item job, in order, with its original item), and
//! held to each tenant's limit of downloads in progress.

use super::*;
use std::time::Duration;

/// A job of 1,000 items of about 40 KB each, all failing (a control character
/// in each customerId): a 40 MB download, more than the sockets between the
/// server and a client that stops reading can hold.
fn large_failing_job() -> Value {
    let blob = "x".repeat(40_000);
    Value::Array(
        (0..1000)
            .map(|i| json!({"customerId": format!("bad\u{1}{i}"), "customerAttributes": {"custom": {"blob": blob}}}))
            .collect(),
    )
}

/// The session cookie of a browser that logged in.
fn cookie(b: &Browser) -> String {
    b.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn large_downloads_are_whole_and_each_tenant_has_its_limit() {
    let s = TestServer::start(Options {
        app: app::Settings {
            tenant_downloads: 1,
            ..app::Settings::default()
        },
        http: server::HttpSettings {
            max_body_bytes: 64 * 1024 * 1024,
            ..server::HttpSettings::default()
        },
        ..Options::default()
    })
    .await;
    let body = large_failing_job();
    let job = s.submit("customers", body.clone()).await;
    let (_, theirs) = read(
        s.as_b(Method::POST, &format!("{BASE}/batch/customers"))
            .json(&json!({"body": [{"customerId": "bad\u{1}"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let theirs = theirs["jobId"].as_i64().unwrap();
    s.drain().await;
    let mut a = Browser::new(&s);
    a.log_in(&s.a).await;
    let mut b = Browser::new(&s);
    b.log_in(&s.b).await;

    // The whole download: every failure in index order with its item.
    let ndjson = a.get(&format!("/console/jobs/{job}/failed.ndjson")).await;
    assert_eq!(ndjson.status, StatusCode::OK);
    let lines: Vec<Value> = ndjson
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i, "in index order");
        assert_eq!(line["code"], 3003);
        assert_eq!(line["item"], body[i], "item {i}'s own text");
    }
    let csv_page = a.get(&format!("/console/jobs/{job}/failed.csv")).await;
    let mut reader = csv::Reader::from_reader(csv_page.body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["index", "customerId", "code", "error", "item"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1000, "one header, then a row per failure");
    assert_eq!((&rows[0][0], &rows[999][0]), ("0", "999"));
    let last: Value = serde_json::from_str(&rows[999][4]).unwrap();
    assert_eq!(last, body[999]);

    // A download whose client stops reading holds its place: the tenant's
    // next is refused, another tenant's is not.
    let held = a
        .http
        .get(format!("{}/console/jobs/{job}/failed.csv", s.url))
        .header(COOKIE, cookie(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), StatusCode::OK);
    let refused = a.get(&format!("/console/jobs/{job}/failed.ndjson")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(
        refused.body.contains("failed-items downloads in progress"),
        "{}",
        refused.body
    );
    assert_locked_down(&refused);
    let other = b
        .get(&format!("/console/jobs/{theirs}/failed.ndjson"))
        .await;
    assert_eq!(other.status, StatusCode::OK, "another tenant downloads");
    assert_eq!(other.body.lines().count(), 1);

    // The client leaves: its place is given back.
    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = a
            .get(&format!("/console/jobs/{theirs}/failed.ndjson"))
            .await;
        if next.status != StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(next.status, StatusCode::NOT_FOUND, "B's job, not A's");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = a.get(&format!("/console/jobs/{job}/failed.ndjson")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body.lines().count(), 1000);
}

crate::on_both_backends!(large_downloads_are_whole_and_each_tenant_has_its_limit);
