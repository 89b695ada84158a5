//! The operator console in a real headless Chromium, driven over WebDriver
//! (chromedriver) against a real `loyalbatch serve` (when
//! `LOYALBATCH_CHROMEDRIVER` names chromedriver; `.ci/run` installs it).
//! Saves `docs/console-jobs.png` and `docs/console-job.png`.

use crate::node::*;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DRIVER_VAR: &str = "LOYALBATCH_CHROMEDRIVER";

struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(path: &str) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium whose downloads land in `downloads`.
async fn browser(driver: &Driver, downloads: &std::path::Path) -> Client {
    let mut options = json!({"args": [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,1000"
    ], "prefs": {
        "download.default_directory": downloads.display().to_string(),
        "download.prompt_for_download": false
    }});
    if let Ok(binary) = std::env::var("LOYALBATCH_CHROMIUM") {
        options["binary"] = json!(binary);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    // chromedriver speaks plain HTTP on 127.0.0.1: no TLS.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// Polls the page (30 s deadline) until `done` holds of its current DOM.
async fn wait_page(c: &Client, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let source = c.source().await.unwrap_or_default();
        if done(&source) {
            return source;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed {what}: {source}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_url(c: &Client, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = c.current_url().await.unwrap().to_string();
        if done(&url) {
            return url;
        }
        assert!(Instant::now() < deadline, "never got to {what}: at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn fill(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Reads `expression` (a status text) every 20 ms until it says the job ended;
/// the statuses it went through, in order.
async fn watch_status(c: &Client, expression: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let status = c
            .execute(&format!("return {expression};"), vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if ["completed", "failed", "stopped"].contains(&status.as_str()) {
            return seen;
        }
        assert!(Instant::now() < deadline, "statuses seen: {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text of a job's status cell in the jobs list.
async fn row_status(c: &Client, job: i64) -> String {
    let css = format!("a[href=\"/console/jobs/{job}\"]");
    let script = format!(
        "const a = document.querySelector('{css}'); \
         return a ? a.closest('tr').querySelector('[data-field=\"status\"]').textContent : '';"
    );
    c.execute(&script, vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn api_status(url: &str, job: i64) -> Value {
    call(url, Method::GET, &format!("/batch/{job}"), None)
        .await
        .1
}

async fn wait_api(url: &str, job: i64, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = api_status(url, job).await;
        if s["status"] == state {
            return s;
        }
        assert!(Instant::now() < deadline, "job {job} never {state}: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn screenshot(name: &str, png: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::write(&path, png).unwrap();
}

fn long_job(prefix: &str) -> Vec<Value> {
    (0..1000)
        .map(|i| json!({"customerId": format!("{prefix}{i}")}))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_works_in_a_real_browser() {
    let Ok(driver_path) = std::env::var(DRIVER_VAR) else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped the console's browser test: set {DRIVER_VAR} (chromedriver)"
        );
        return;
    };
    assert!(
        !driver_path.is_empty(),
        "{DRIVER_VAR} is set but empty: chromedriver is not installed"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("console.db").display());
    // One item per chunk and one worker: a job of 1,000 items runs for seconds.
    let node = Node::start(&db, &["--chunk-size", "1", "--workers", "1"], true);
    let base = node.url.clone();
    let driver = Driver::start(&driver_path);
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;

    // Wrong keys: refused, no session.
    c.goto(&format!("{base}/console/login")).await.unwrap();
    fill(&c, "#apikey", APIKEY).await;
    fill(&c, "#secretkey", "not-the-secret").await;
    click(&c, "form.login button").await;
    wait_page(&c, "the refusal", |p| {
        p.contains("Wrong apikey or secretkey.")
    })
    .await;
    let cookies = c.get_all_cookies().await.unwrap();
    assert!(cookies.iter().all(|k| k.name() != "loyalbatch_console"));

    // Log in with the keyboard alone: type, Tab to the next field, Enter.
    fill(&c, "#apikey", APIKEY).await;
    let tab = char::from(fantoccini::key::Key::Tab).to_string();
    let enter = char::from(fantoccini::key::Key::Enter).to_string();
    c.active_element()
        .await
        .unwrap()
        .send_keys(&tab)
        .await
        .unwrap();
    let focused = c.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("secretkey")
    );
    focused.clear().await.unwrap();
    focused
        .send_keys(&format!("{SECRET}{enter}"))
        .await
        .unwrap();
    wait_url(&c, "the jobs page", |u| u.ends_with("/console/jobs")).await;
    let session = c.get_named_cookie("loyalbatch_console").await.unwrap();
    assert_eq!(session.http_only(), Some(true));

    let failing = failures_downloads_and_retry(&c, &base, downloads.path()).await;
    live_counts_and_narrow_screens(&c, &base, failing).await;
    stop_forms_customers_settings_and_logout(&c, &base).await;
    c.close().await.unwrap();
}

/// A job with failed items: their messages, search by code, the CSV download
/// compared with the job's failures, and Retry; answers the job's id.
async fn failures_downloads_and_retry(c: &Client, base: &str, downloads: &std::path::Path) -> i64 {
    let c = c.clone();
    // A job with failed items: its page lists their messages; search by code.
    let failing = submit(
        base,
        "customers",
        vec![
            json!({"customerId": "ok-1"}),
            json!({"email": "no-id@x.io"}),
            json!({"customerId": "bad\u{1}id"}),
            json!({"customerId": "ok-2"}),
        ],
    )
    .await;
    wait_api(base, failing, "completed").await;
    c.goto(&format!("{base}/console/jobs/{failing}"))
        .await
        .unwrap();
    let page = wait_page(&c, "the failures", |p| p.contains("Failed items (2)")).await;
    assert!(page.contains("customerId: required"));
    screenshot("console-job.png", &c.screenshot().await.unwrap());
    fill(&c, "#q", "3003").await;
    click(&c, "form.search button").await;
    let page = wait_page(&c, "the search", |p| p.contains("Failed items (1)")).await;
    assert!(!page.contains("customerId: required"));

    // Download the failed items with the button, and compare with the job's failures.
    let failures = api_status(base, failing).await["response"]["failed"].clone();
    c.goto(&format!("{base}/console/jobs/{failing}"))
        .await
        .unwrap();
    click(&c, "a[href$=\"/failed.csv\"]").await;
    let file = downloads.join(format!("job-{failing}-failed.csv"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "the CSV was never downloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let csv = std::fs::read_to_string(&file).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), failures.as_array().unwrap().len());
    for (row, f) in rows.iter().zip(failures.as_array().unwrap()) {
        assert_eq!(row[0], f["index"].to_string());
        assert_eq!(row[2], f["code"].to_string());
        assert_eq!(row[3], f["message"].as_str().unwrap().to_owned());
    }

    // Retry them: the new job's page.
    c.goto(&format!("{base}/console/jobs/{failing}"))
        .await
        .unwrap();
    click(&c, "form[action$=\"/retry\"] button").await;
    let url = wait_url(&c, "the retry's job", |u| u.contains("notice=retried")).await;
    let retried: i64 = url
        .split("/console/jobs/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    assert_ne!(retried, failing);
    assert_eq!(api_status(base, retried).await["itemCount"], 2);
    failing
}

/// A job's page and the jobs list follow running jobs without a reload; the
/// pages fit a 360 px wide screen (the jobs list and `failing`'s page).
async fn live_counts_and_narrow_screens(c: &Client, base: &str, failing: i64) {
    let c = c.clone();
    // A job's page follows it from queued or running to completed, never reloaded
    // (it waits behind another job of 1,000 one-item chunks, then runs for as long).
    let ahead = submit(base, "customers", long_job("a")).await;
    let watched = submit(base, "customers", long_job("w")).await;
    c.goto(&format!("{base}/console/jobs/{watched}"))
        .await
        .unwrap();
    c.execute("window.__samePage = 'yes';", vec![])
        .await
        .unwrap();
    let seen = watch_status(
        &c,
        "document.querySelector('h1 [data-field=\\\"status\\\"]').textContent",
    )
    .await;
    assert!(
        seen.iter().any(|s| s == "running"),
        "statuses seen: {seen:?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("completed"));
    wait_page(&c, "the offer of the results", |p| {
        p.contains("Show its results")
    })
    .await;
    let same = c
        .execute("return window.__samePage;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!("yes"), "updated in place");
    assert_eq!(api_status(base, ahead).await["status"], "completed");

    // The jobs page updates a job's row in place too (polling).
    let first = submit(base, "customers", long_job("f")).await;
    let second = submit(base, "customers", long_job("g")).await;
    c.goto(&format!("{base}/console/jobs")).await.unwrap();
    c.execute("window.__samePage = 'yes';", vec![])
        .await
        .unwrap();
    screenshot("console-jobs.png", &c.screenshot().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while row_status(&c, second).await != "completed" {
        assert!(
            Instant::now() < deadline,
            "job {second} never showed completed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(row_status(&c, first).await, "completed");
    let same = c
        .execute("return window.__samePage;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!("yes"), "updated in place");

    // 360 px wide: nothing sticks out of the page (tables scroll in their box).
    c.set_window_size(360, 800).await.unwrap();
    for path in [
        "/console/jobs".to_owned(),
        format!("/console/jobs/{failing}"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let width = c
            .execute("return document.documentElement.scrollWidth;", vec![])
            .await
            .unwrap();
        assert!(width.as_u64().unwrap() <= 360, "{path} is {width} px wide");
    }
    c.set_window_size(1280, 1000).await.unwrap();
}

/// Stop with its button (after the confirmation), a form without its CSRF
/// token refused, a customer's movements, a setting changed, and logout.
async fn stop_forms_customers_settings_and_logout(c: &Client, base: &str) {
    let c = c.clone();
    // Stop a running job with its button (after the confirmation). It waits
    // behind another job of 1,000 one-item chunks; the button is pressed as soon
    // as its page shows it running (its own run lasts as long as the other's).
    let ahead = submit(base, "customers", long_job("b")).await;
    let stoppable = submit(base, "customers", long_job("s")).await;
    c.goto(&format!("{base}/console/jobs/{stoppable}"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = c
            .execute(
                "return document.querySelector('h1 [data-field=\\\"status\\\"]').textContent;",
                vec![],
            )
            .await
            .unwrap();
        if status == json!("running") {
            break;
        }
        assert_eq!(
            status,
            json!("queued"),
            "it ended before it could be stopped"
        );
        assert!(Instant::now() < deadline, "job {stoppable} never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    click(&c, "form[action$=\"/stop\"] button").await;
    c.accept_alert().await.unwrap();
    wait_page(&c, "the stop", |p| p.contains("The job was stopped")).await;
    let stopped = api_status(base, stoppable).await;
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(api_status(base, ahead).await["status"], "completed");
    assert!(
        stopped["unprocessedCount"].as_u64().unwrap() > 0,
        "{stopped}"
    );

    // A form without the CSRF token is refused (and stops nothing).
    let victim = submit(base, "customers", long_job("v")).await;
    c.execute(
        "const f = document.createElement('form'); f.method = 'post'; \
         f.action = arguments[0]; document.body.appendChild(f); f.submit();",
        vec![json!(format!("/console/jobs/{victim}/stop"))],
    )
    .await
    .unwrap();
    wait_page(&c, "the refusal", |p| p.contains("Refused")).await;
    assert_ne!(api_status(base, victim).await["status"], "stopped");

    // A customer's page shows its movements.
    let (status, _) = call(
        base,
        Method::POST,
        "/transactions/cashback",
        Some(json!({"customerId": "shopper", "transactionId": "buy-1",
                    "transactionTime": "2025-01-01T00:00:00Z", "amount": 120})),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    c.goto(&format!("{base}/console/customers")).await.unwrap();
    fill(&c, "#customer", "shopper").await;
    click(&c, "form.search button").await;
    wait_page(&c, "the movements", |p| {
        p.contains("buy-1") && p.contains("Customer shopper")
    })
    .await;

    // Change a setting.
    c.goto(&format!("{base}/console/settings")).await.unwrap();
    fill(&c, "#currency", "EUR").await;
    click(&c, "form.settings button[type=submit]").await;
    wait_page(&c, "the saved settings", |p| p.contains("Saved.")).await;
    let (_, config) = call(base, Method::GET, "/configurations/redemption", None).await;
    assert_eq!(config["currency"], "EUR");

    // Log out: back to the login page, and the console is closed.
    click(&c, "form[action=\"/console/logout\"] button").await;
    wait_url(&c, "the login page", |u| u.ends_with("/console/login")).await;
    c.goto(&format!("{base}/console/jobs")).await.unwrap();
    wait_url(&c, "the login page again", |u| {
        u.ends_with("/console/login")
    })
    .await;
}
