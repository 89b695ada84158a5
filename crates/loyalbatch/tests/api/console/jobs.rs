//! The console's jobs: the list, a job's failures, downloads, retry, stop, its stream and progress.

use super::*;

async fn console_jobs_failures_downloads_stop_and_retry() {
    let s = TestServer::paused().await;
    let mut b = Browser::new(&s);
    let body = json!([
        {"customerId": "ok0"},
        {"email": "nobody@x.io"},
        {"customerId": "ok2"},
        {"customerId": "bad\u{1}", "displayName": "Zoë"},
    ]);
    let failing = s.submit("customers", body.clone()).await;
    s.drain().await;
    let other = {
        let resp = s
            .as_b(Method::POST, &format!("{BASE}/batch/customers"))
            .json(&json!({"body": [{"customerId": "b1"}]}))
            .send()
            .await
            .unwrap();
        read(resp).await.1["jobId"].as_i64().unwrap()
    };
    let running = s.submit("customers", customers(3, "q")).await;
    let csrf = b.log_in(&s.a).await;

    let list = b.get("/console/jobs").await;
    assert!(
        list.body
            .contains("Items processed per minute, last hour: 4 in all."),
        "the chart counts the tenant's processed items only"
    );
    assert!(list.body.contains("<svg") && list.body.contains("<rect"));
    assert!(
        list.body
            .contains(&format!("href=\"/console/jobs/{failing}\""))
    );
    assert!(
        list.body
            .contains(&format!("href=\"/console/jobs/{running}\""))
    );
    assert!(
        !list
            .body
            .contains(&format!("href=\"/console/jobs/{other}\"")),
        "another tenant's job"
    );
    let queued = b.get("/console/jobs?status=queued").await;
    assert!(queued.body.contains(&format!("/console/jobs/{running}\"")));
    assert!(!queued.body.contains(&format!("/console/jobs/{failing}\"")));
    // Another tenant's job and an unknown one: 404 pages.
    assert_eq!(
        b.get(&format!("/console/jobs/{other}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/console/jobs/99999").await.status,
        StatusCode::NOT_FOUND
    );

    // The failed items with their messages; search by code.
    let page = b.get(&format!("/console/jobs/{failing}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Failed items (2)"), "{}", page.body);
    assert!(page.body.contains("customerId: required"));
    let by_code = b.get(&format!("/console/jobs/{failing}?q=3003")).await;
    assert!(by_code.body.contains("Failed items (1)"));
    assert!(!by_code.body.contains("customerId: required"));
    let by_key = b
        .get(&format!("/console/jobs/{failing}?q=nobody-at-all"))
        .await;
    assert!(by_key.body.contains("Failed items (0)"));

    // Downloads: the original items with their code and error.
    let (_, status) = s
        .call(Method::GET, &format!("/batch/{failing}"), None)
        .await;
    let failures = status["response"]["failed"].as_array().unwrap().clone();
    let ndjson = b
        .get(&format!("/console/jobs/{failing}/failed.ndjson"))
        .await;
    assert_eq!(ndjson.status, StatusCode::OK);
    assert!(
        ndjson.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let lines: Vec<Value> = ndjson
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), failures.len());
    for (line, f) in lines.iter().zip(&failures) {
        assert_eq!(line["index"], f["index"]);
        assert_eq!(line["code"], f["code"]);
        assert_eq!(line["error"], f["message"]);
        assert_eq!(line["item"], body[f["index"].as_u64().unwrap() as usize]);
    }
    let csv = b.get(&format!("/console/jobs/{failing}/failed.csv")).await;
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["index", "customerId", "code", "error", "item"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), failures.len());
    for (row, f) in rows.iter().zip(&failures) {
        assert_eq!(row[0], f["index"].to_string());
        assert_eq!(row[2], f["code"].to_string());
        assert_eq!(row[3], f["message"].as_str().unwrap().to_owned());
        let item: Value = serde_json::from_str(&row[4]).unwrap();
        assert_eq!(item, body[f["index"].as_u64().unwrap() as usize]);
    }

    // Retry the failed items: a new job of them.
    let retried = b
        .post(
            &format!("/console/jobs/{failing}/retry"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    let location = retried.location.unwrap();
    let new: i64 = location
        .trim_start_matches("/console/jobs/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(new, failing);
    assert_eq!(s.status(new).await["itemCount"], 2);
    assert!(
        b.get(&location)
            .await
            .body
            .contains("failed items of the job it retries")
    );

    stop_events_and_progress(&s, &mut b, &csrf, [running, other, failing, new]).await;
}

/// The rest of the test above: Stop, the job's event stream, its progress.
async fn stop_events_and_progress(s: &TestServer, b: &mut Browser, csrf: &str, jobs: [i64; 4]) {
    let [running, other, failing, new] = jobs;
    // Stop: a forged form does nothing; the real one stops the job.
    let forged = b
        .post(
            &format!("/console/jobs/{running}/stop"),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(s.status(running).await["status"], "queued");
    let page = b.get(&format!("/console/jobs/{running}")).await;
    assert!(
        page.body.contains("data-confirm"),
        "the stop button asks first"
    );
    let stopped = b
        .post(&format!("/console/jobs/{running}/stop"), &[("csrf", csrf)])
        .await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.status(running).await["status"],
        JobState::Stopped.as_str()
    );
    assert!(
        b.get(&stopped.location.unwrap())
            .await
            .body
            .contains("The job was stopped")
    );
    // Another tenant's job cannot be stopped from this session.
    let theirs = b
        .post(&format!("/console/jobs/{other}/stop"), &[("csrf", csrf)])
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // The job's event stream, for this session: a finished job's final event.
    let events = b.get(&format!("/console/jobs/{failing}/events")).await;
    assert_eq!(events.status, StatusCode::OK);
    assert!(
        events.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(events.body.contains("event: completed"), "{}", events.body);
    assert_eq!(
        b.get(&format!("/console/jobs/{other}/events")).await.status,
        StatusCode::NOT_FOUND
    );

    // A queued job's counts, as the page's script reads them: the shape of
    // the stream's `progress` event.
    let progress = b.get(&format!("/console/jobs/{new}/progress")).await;
    let p: Value = serde_json::from_str(&progress.body).unwrap();
    assert_eq!(
        p,
        serde_json::json!({"jobId": new, "status": "queued", "itemCount": 2, "totalCount": 0,
            "finishedCount": 0, "errorCount": 0, "unprocessedCount": 2})
    );
}

/// A retry from the console is held to the queue limit as the API's is: a 429
/// page with the flag's `Retry-After`, and no job created.
async fn a_console_retry_is_held_to_the_queue_limit() {
    let (s, job) = crate::retry::full_queue().await;
    let mut b = Browser::new(&s);
    let csrf = b.log_in(&s.a).await;
    let refused = b
        .post(&format!("/console/jobs/{job}/retry"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.headers["retry-after"], "7");
    assert!(refused.body.contains("queue limit"), "{}", refused.body);
    assert_locked_down(&refused);
    assert_eq!(s.job_count(&s.a).await, 2, "nothing created");
}

crate::on_both_backends!(
    console_jobs_failures_downloads_stop_and_retry,
    a_console_retry_is_held_to_the_queue_limit
);
