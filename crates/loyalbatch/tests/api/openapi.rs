//! API tests: the OpenAPI document served is the committed one, each operation
//! it names reaches a handler under every base path, and `/docs` shows it.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

async fn the_served_document_is_the_committed_one() {
    let s = TestServer::paused().await;
    let resp = s
        .request(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let served = resp.text().await.unwrap();
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        served == committed,
        "docs/openapi.json differs from what the server serves; \
         regenerate it with `cargo run -- openapi > docs/openapi.json` and review the change"
    );
}

async fn every_documented_operation_reaches_a_handler_under_every_base_path() {
    let s = TestServer::paused().await;
    let doc: Value = serde_json::from_str(contract::document_text()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let concrete = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let variants: Vec<String> = match concrete.strip_prefix(server::BASE_PATHS[0]) {
                Some(rest) => server::BASE_PATHS
                    .iter()
                    .map(|b| format!("{b}{rest}"))
                    .collect(),
                None => vec![concrete.clone()],
            };
            for url in variants {
                let resp = s.as_a(method.clone(), &url).send().await.unwrap();
                let status = resp.status();
                let body = resp.text().await.unwrap();
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
                assert!(
                    !body.contains("no route for"),
                    "{method} {url} is documented but the router has no such route"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 80, "{checked}");
}

async fn the_reference_page_needs_no_keys_and_no_network() {
    let s = TestServer::paused().await;
    let resp = s.request(Method::GET, "/docs").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = resp.text().await.unwrap();
    assert!(page.contains("id=\"createBatchCashback\""));
    assert!(page.contains("id=\"schema-ErrorBody\""));
    // Example URLs may show as text; nothing is loaded from anywhere.
    for remote in ["src=", "href=\"http", "url(", "<script", "<link"] {
        assert!(!page.contains(remote), "the page contains {remote}");
    }
}

crate::on_both_backends!(
    the_served_document_is_the_committed_one,
    every_documented_operation_reaches_a_handler_under_every_base_path,
    the_reference_page_needs_no_keys_and_no_network,
);
