//! The console's customer pages and program settings.

use super::*;

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

crate::on_both_backends!(console_customers_and_settings);
