//! The operator console over HTTP (pages, forms, cookies, downloads), through
//! a cookie-keeping client; the browser-driven test is in `processes`.

mod customers;
mod downloads;
mod jobs;

use crate::common::*;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use wire::JobState;

/// A cookie-keeping client that does not follow redirects.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
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

pub(crate) fn csrf(body: &str) -> String {
    csrf_of(body)
}

pub(crate) fn csrf_of(body: &str) -> String {
    let at =
        body.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

pub(crate) fn assert_locked_down(page: &Page) {
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
    s.app.tenants().rotate_secret("tenant-a").await.unwrap();
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

/// Logging out ends the session on the server: a copy of its cookie is void
/// too; and no session lasts longer than a session can, even one signed with
/// the stored secret hash (no console key set) for ten years.
async fn logout_ends_the_session_everywhere_and_lifetimes_are_bounded() {
    let s = TestServer::paused().await;
    let mut b = Browser::new(&s);
    let csrf = b.log_in(&s.a).await;
    let copy = b.cookies.clone();
    let out = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let mut thief = Browser::new(&s);
    thief.cookies = copy;
    assert_eq!(
        thief.get("/console/jobs").await.location.as_deref(),
        Some("/console/login"),
        "the copied cookie no longer opens the console"
    );
    // Forged from what the database holds, ten years long: refused.
    let tenant = s
        .app
        .tenants()
        .by_apikey(&s.a.apikey)
        .await
        .unwrap()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let long = console::session::issue(
        &s.a.apikey,
        &tenant.secret_hash,
        now + 10 * 365 * 86_400,
        [9; 16],
    );
    let mut forger = Browser::new(&s);
    forger.cookies.insert("loyalbatch_console".into(), long);
    assert_eq!(
        forger.get("/console/jobs").await.location.as_deref(),
        Some("/console/login")
    );
}

/// Console logins cannot guess keys at speed: past 10 wrong secrets for an
/// apikey in a minute, logins with it answer 429 with `Retry-After`.
async fn wrong_console_logins_are_throttled() {
    let s = TestServer::paused().await;
    let mut b = Browser::new(&s);
    let token = csrf(&b.get("/console/login").await.body);
    let attempt = |secret: &str| {
        vec![
            ("apikey".to_owned(), s.a.apikey.clone()),
            ("secretkey".to_owned(), secret.to_owned()),
            ("csrf".to_owned(), token.clone()),
        ]
    };
    for _ in 0..10 {
        let form = attempt("wrong");
        let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            b.post("/console/login", &refs).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let form = attempt(&s.a.secretkey);
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = b.post("/console/login", &refs).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(!b.cookies.contains_key("loyalbatch_console"));
}

crate::on_both_backends!(
    console_login_sessions_and_logout,
    logout_ends_the_session_everywhere_and_lifetimes_are_bounded,
    wrong_console_logins_are_throttled
);
