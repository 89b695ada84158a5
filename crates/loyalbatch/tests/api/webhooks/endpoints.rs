//! `/webhooks` endpoints: registered, listed, removed, and refused naming the field.

use super::*;

#[tokio::test]
async fn endpoints_are_registered_listed_and_removed() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        run_on(backend, async {
            let s = server(None).await;
            let (status, created) = s
                .post(
                    "/webhooks",
                    json!({"url": "http://127.0.0.1:9/hook", "events": ["batch.failed", "batch.completed", "batch.failed"]}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let id = created["id"].as_i64().unwrap();
            assert_eq!(created["url"], "http://127.0.0.1:9/hook");
            assert_eq!(created["events"], json!(["batch.failed", "batch.completed"]));
            let secret = created["secret"].as_str().unwrap();
            assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
            // All three events by default.
            let (_, second) = s.post("/webhooks", json!({"url": "https://203.0.113.7/x"})).await;
            assert_eq!(second["events"], json!(["batch.completed", "batch.failed", "batch.stopped"]));

            let (status, list) = s.call(Method::GET, "/webhooks", None).await;
            assert_eq!(status, StatusCode::OK);
            let hooks = list["webhooks"].as_array().unwrap();
            assert_eq!(hooks.len(), 2);
            assert_eq!(hooks[0]["id"], id);
            assert!(hooks.iter().all(|h| h.get("secret").is_none()), "secrets are never listed");
            assert!(!list.to_string().contains(secret));

            // Tenant B sees none of them and cannot touch them.
            let resp = s.as_b(Method::GET, &format!("{BASE}/webhooks")).send().await.unwrap();
            assert_eq!(read(resp).await.1["webhooks"], json!([]));
            let resp = s.as_b(Method::DELETE, &format!("{BASE}/webhooks/{id}")).send().await.unwrap();
            expect_error(resp, StatusCode::NOT_FOUND, 4004).await;
            let resp = s
                .as_b(Method::GET, &format!("{BASE}/webhooks/{id}/deliveries"))
                .send()
                .await
                .unwrap();
            expect_error(resp, StatusCode::NOT_FOUND, 4004).await;

            let (status, removed) = s.call(Method::DELETE, &format!("/webhooks/{id}"), None).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(removed, json!({"id": id, "removed": true}));
            s.refused(Method::DELETE, &format!("/webhooks/{id}"), None, StatusCode::NOT_FOUND, 4004)
                .await;
            s.refused(Method::GET, &format!("/webhooks/{id}/deliveries"), None, StatusCode::NOT_FOUND, 4004)
                .await;
            let second = second["id"].as_i64().unwrap();
            s.refused(
                Method::POST,
                &format!("/webhooks/{second}/deliveries/999/retry"),
                None,
                StatusCode::NOT_FOUND,
                4004,
            )
            .await;
            s.refused(Method::DELETE, "/webhooks/abc", None, StatusCode::NOT_FOUND, 4004).await;
            s.refused(
                Method::GET,
                &format!("/webhooks/{second}/deliveries?limit=0"),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                3003,
            )
            .await;
        })
        .await;
    }
}

#[tokio::test]
async fn bad_endpoints_are_refused_naming_the_field() {
    // This server delivers to public addresses only (the default). 93.184.215.14
    // is public; nothing is sent to it (no deliverer runs here).
    let s = TestServer::start(Options::default()).await;
    let refused = |body: Value, status: StatusCode, code: u32| {
        let s = &s;
        async move {
            s.refused(Method::POST, "/webhooks", Some(body), status, code)
                .await
        }
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    assert!(
        refused(json!({}), StatusCode::BAD_REQUEST, 3000)
            .await
            .starts_with("url")
    );
    assert!(
        refused(json!({"url": 5}), unprocessable, 3003)
            .await
            .starts_with("url")
    );
    assert!(
        refused(json!([]), unprocessable, 3003)
            .await
            .starts_with("body")
    );
    for (url, says) in [
        ("ftp://example.com/", "http or https"),
        ("not a url", "absolute"),
        ("https://u:p@example.com/", "credentials"),
        ("http://127.0.0.1:8080/hook", "--webhook-allow-private"),
        (
            "http://169.254.169.254/latest/meta-data",
            "--webhook-allow-private",
        ),
        ("http://[::1]/", "--webhook-allow-private"),
        ("http://10.0.0.8/", "--webhook-allow-private"),
        ("http://[::ffff:192.168.0.1]/", "--webhook-allow-private"),
        ("http://localhost:8080/", "--webhook-allow-private"),
    ] {
        let message = refused(json!({"url": url}), unprocessable, 3003).await;
        assert!(
            message.starts_with("url:") && message.contains(says),
            "{url}: {message}"
        );
    }
    let message = refused(
        json!({"url": "https://93.184.215.14/", "events": ["batch.completed", "batch.created"]}),
        unprocessable,
        3003,
    )
    .await;
    assert!(
        message.starts_with("events[1]: unknown event 'batch.created'"),
        "{message}"
    );
    refused(
        json!({"url": "https://93.184.215.14/", "events": []}),
        unprocessable,
        3003,
    )
    .await;
    refused(
        json!({"url": "https://93.184.215.14/", "events": "batch.completed"}),
        unprocessable,
        3003,
    )
    .await;
    // Nothing was registered by any of them.
    let (_, list) = s.call(Method::GET, "/webhooks", None).await;
    assert_eq!(list["webhooks"], json!([]));

    // At most 16 endpoints.
    for i in 0..16 {
        let (status, _) = s
            .post(
                "/webhooks",
                json!({"url": format!("https://93.184.215.14/{i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let message = refused(
        json!({"url": "https://93.184.215.14/17"}),
        unprocessable,
        3011,
    )
    .await;
    assert!(message.contains("16"), "{message}");

    // The secret key is required.
    let resp = s
        .request(Method::GET, &format!("{BASE}/webhooks"))
        .header("apikey", &s.a.apikey)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
