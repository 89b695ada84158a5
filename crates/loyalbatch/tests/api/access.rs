//! Who may call what with the apikey alone: with a tenant's `highSecurity` off,
//! exactly the two calls client SDKs make — creating a customer and sending
//! events (v4 and v3) — and nothing else, read or write, answers without the
//! secret. Every route of the router is walked.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The routes open to the apikey alone while `highSecurity` is off, with a body each accepts.
fn open_routes() -> Vec<(Method, String, Value)> {
    let mut open = Vec::new();
    for base in server::BASE_PATHS {
        open.push((
            Method::POST,
            format!("{base}/customers"),
            json!({"customerId": "walker"}),
        ));
        open.push((
            Method::POST,
            format!("{base}/events"),
            json!({"customerId": "walker", "events": {"visit": {}}}),
        ));
    }
    let v3 = server::v3::BASE_PATH;
    open.push((
        Method::POST,
        format!("{v3}/player"),
        json!({"playerUniqueId": "walker"}),
    ));
    open.push((
        Method::POST,
        format!("{v3}/event"),
        json!({"playerUniqueId": "walker", "events": {"visit": {}}}),
    ));
    open
}

/// A concrete path for a route template: every `{parameter}` becomes `1`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

async fn with_high_security_off_only_customer_upserts_and_events_take_the_apikey_alone() {
    let s = TestServer::paused().await;
    s.db.execute(&format!(
        "UPDATE tenants SET high_security = FALSE WHERE apikey = '{}'",
        s.a.apikey
    ))
    .await;
    let open = open_routes();
    let mut walked = 0;
    for (method, template) in server::route_table() {
        if !template.starts_with("/api/v") {
            continue; // probes and the document: no keys at all
        }
        let path = concrete(&template);
        let is_open = open.iter().any(|(m, p, _)| *m == method && *p == path);
        let mut req = s
            .request(method.clone(), &path)
            .header("apikey", &s.a.apikey);
        if method != Method::GET {
            req = req.json(&json!({}));
        }
        let resp = req.send().await.unwrap();
        if is_open {
            continue;
        }
        let (status, body) = read(resp).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (StatusCode::UNAUTHORIZED, Some(1001)),
            "{method} {path} answered the apikey alone: {body}"
        );
        walked += 1;
    }
    assert!(walked > 120, "walked only {walked} routes");
    // The open ones answer, and do what they say.
    for (method, path, body) in open {
        let resp = s
            .request(method.clone(), &path)
            .header("apikey", &s.a.apikey)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{method} {path}");
    }
    let (status, _) = s.call(Method::GET, "/customers/walker", None).await;
    assert_eq!(status, StatusCode::OK, "the upserts created the customer");
}

crate::on_both_backends!(
    with_high_security_off_only_customer_upserts_and_events_take_the_apikey_alone
);
