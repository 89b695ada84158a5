//! The operator console over HTTP (pages, forms, cookies, downloads); the
//! browser-driven tests are a later step.

use crate::common::*;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use wire::JobState;

/// A cookie-keeping client that does not follow redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Browser {
    fn new(s: &TestServer) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.url.clone(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(COOKIE, header.join("; "));
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let resp = req.send().await.unwrap();
        for c in resp.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Logs in with `keys`; returns the session's CSRF token (from the jobs page).
    async fn log_in(&mut self, keys: &Keys) -> String {
        let page = self.get("/console/login").await;
        let csrf = csrf(&page.body);
        let done = self
            .post(
                "/console/login",
                &[
                    ("apikey", &keys.apikey),
                    ("secretkey", &keys.secretkey),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/console/jobs"));
        csrf_of(&self.get("/console/jobs").await.body)
    }
}

fn csrf(body: &str) -> String {
    csrf_of(body)
}

fn csrf_of(body: &str) -> String {
    let at =
        body.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

fn assert_locked_down(page: &Page) {
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    for remote in [
        "http://", "https://", "<script>", "style=\"", "onclick", "onsubmit",
    ] {
        assert!(!page.body.contains(remote), "the page contains {remote}");
    }
}

async fn console_login_sessions_and_logout() {
    let s = TestServer::paused().await;
    let mut b = Browser::new(&s);
    // Not signed in: to the login page.
    let page = b.get("/console/jobs").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/console/login"));

    let login = b.get("/console/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_locked_down(&login);
    assert!(login.body.contains("name=\"apikey\"") && login.body.contains("name=\"secretkey\""));
    let token = csrf(&login.body);

    // Wrong keys: an error, no session.
    let wrong = b
        .post(
            "/console/login",
            &[
                ("apikey", &s.a.apikey),
                ("secretkey", "not-the-secret"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong apikey or secretkey."));
    assert!(!b.cookies.contains_key("loyalbatch_console"));
    // A login form without the token: refused.
    let forged = b
        .post(
            "/console/login",
            &[("apikey", &s.a.apikey), ("secretkey", &s.a.secretkey)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!b.cookies.contains_key("loyalbatch_console"));

    let done = b
        .post(
            "/console/login",
            &[
                ("apikey", &s.a.apikey),
                ("secretkey", &s.a.secretkey),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let set: Vec<&str> = done
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("loyalbatch_console="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
            && session.contains("Max-Age=")
    );
    assert!(!session.contains("Secure"), "not over TLS");
    assert!(!session.contains(&s.a.secretkey));

    let jobs = b.get("/console/jobs").await;
    assert_eq!(jobs.status, StatusCode::OK);
    assert_locked_down(&jobs);
    assert!(jobs.body.contains("tenant-a"));
    let csrf = csrf_of(&jobs.body);

    // Log out without the token: refused, still signed in.
    assert_eq!(
        b.post("/console/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(b.get("/console/jobs").await.status, StatusCode::OK);
    let out = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/console/login"));
    assert_eq!(
        b.get("/console/jobs").await.location.as_deref(),
        Some("/console/login")
    );

    // A rotated secret ends every session.
    b.log_in(&s.a).await;
    s.store
        .rotate_secret("tenant-a", app::keys::hash_secret("another"))
        .await
        .unwrap();
    assert_eq!(
        b.get("/console/jobs").await.location.as_deref(),
        Some("/console/login")
    );

    // The assets are the console's own.
    let script = b.get("/console/static/console.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(!script.body.contains("http"));
    let style = b.get("/console/static/console.css").await;
    assert!(
        style.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

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
        .post(&format!("/console/jobs/{running}/stop"), &[("csrf", &csrf)])
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
        .post(&format!("/console/jobs/{other}/stop"), &[("csrf", &csrf)])
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

async fn post_form(b: &mut Browser, fields: Vec<(String, String)>) -> Page {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post("/console/settings", &refs).await
}

async fn console_customers_and_settings() {
    let s = TestServer::paused().await;
    let mut b = Browser::new(&s);
    for (i, amount) in [100, 250].into_iter().enumerate() {
        let (status, body) = s
            .post(
                "/transactions/cashback",
                json!({"customerId": "cust-1", "transactionId": format!("tx-{i}"),
                       "transactionTime": "2025-01-01T00:00:00Z", "amount": amount}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    s.post(
        "/customers",
        json!({"customerId": "cust-1", "email": "c1@x.io"}),
    )
    .await;
    let csrf = b.log_in(&s.a).await;

    let found = b.get("/console/customers?q=cust-1").await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    let page = b.get(found.location.as_deref().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_locked_down(&page);
    assert!(page.body.contains("c1@x.io"));
    // Newest first.
    let (first, second) = (
        page.body.find("tx-1").unwrap(),
        page.body.find("tx-0").unwrap(),
    );
    assert!(first < second);
    let (_, balance) = s.call(Method::GET, "/customers/cust-1/balance", None).await;
    let available = balance["availablePointsBalance"].as_i64().unwrap();
    assert!(
        page.body.contains(&format!("<dd>{available} ")),
        "the balance is shown"
    );
    let missing = b.get("/console/customers/nobody").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("No customer has the id"));
    // Tenant B's console does not see tenant A's customer.
    let mut other = Browser::new(&s);
    other.log_in(&s.b).await;
    assert_eq!(
        other.get("/console/customers/cust-1").await.status,
        StatusCode::NOT_FOUND
    );

    // Settings: shown, changed, refused with the setting named, never half-saved.
    let page = b.get("/console/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"redemptionFactor\""));
    let form = |currency: &'static str, redemption: &'static str, rewards: &'static str| {
        vec![
            ("rewardWalletFactor", "1"),
            ("amountRewardThreshold", "1"),
            ("redemptionFactor", redemption),
            ("currency", currency),
            ("pointsName", "Stars"),
            ("returnWindowDays", "0"),
            ("pointsExpiryDays", ""),
            ("holdExpiryMinutes", "10"),
            ("highSecurity", "on"),
            ("eventRewards", rewards),
        ]
    };
    let with_csrf = |mut f: Vec<(&'static str, &'static str)>, token: &str| {
        let mut v: Vec<(String, String)> = f
            .drain(..)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        v.push(("csrf".to_owned(), token.to_owned()));
        v
    };
    let bad = post_form(&mut b, with_csrf(form("EUR", "abc", ""), &csrf)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("redemptionFactor: not a number"),
        "{}",
        bad.body
    );
    let zero = post_form(&mut b, with_csrf(form("EUR", "0", ""), &csrf)).await;
    assert!(
        zero.body
            .contains("redemptionFactor: must be greater than 0")
    );
    let reward = post_form(&mut b, with_csrf(form("EUR", "0.5", "signup=abc"), &csrf)).await;
    assert!(
        reward
            .body
            .contains("eventRewards.signup: not a whole number")
    );
    assert_eq!(
        s.store.tenant_settings("tenant-a").await.unwrap().currency,
        "USD",
        "nothing saved"
    );
    let forged = post_form(&mut b, with_csrf(form("EUR", "0.5", ""), "forged")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let saved = post_form(
        &mut b,
        with_csrf(form("EUR", "0.5", "signup=50\nreview = 5"), &csrf),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        b.get(saved.location.as_deref().unwrap())
            .await
            .body
            .contains("Saved.")
    );
    let (_, config) = s
        .call(Method::GET, "/configurations/redemption", None)
        .await;
    assert_eq!(config["currency"], "EUR", "{config}");
    let stored = s.store.tenant_settings("tenant-a").await.unwrap();
    assert_eq!(stored.points_name, "Stars");
    assert_eq!(stored.event_rewards.get("signup"), Some(&50));
    assert_eq!(stored.event_rewards.get("review"), Some(&5));
}

crate::on_both_backends!(
    console_login_sessions_and_logout,
    console_jobs_failures_downloads_stop_and_retry,
    console_customers_and_settings
);
