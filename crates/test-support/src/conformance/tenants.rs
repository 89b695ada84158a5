//! Conformance: tenants and their keys.

use super::*;
use std::sync::Arc;

pub async fn tenants_are_unique_and_found_by_apikey(store: Arc<dyn Store>) {
    let id = tenant(&*store, "acme").await;
    let dup = store
        .create_tenant(
            NewTenant {
                name: "acme".into(),
                apikey: "other".into(),
                secret_hash: "h".into(),
            },
            now(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let auth = store.tenant_by_apikey("key-acme").await.unwrap().unwrap();
    assert_eq!(
        (auth.id, auth.name.as_str(), auth.secret_hash.as_str()),
        (id, "acme", "hash-acme")
    );
    assert!(auth.high_security, "highSecurity defaults to true");
    assert!(store.tenant_by_apikey("nope").await.unwrap().is_none());
    store
        .rotate_secret("acme", "new-hash".into())
        .await
        .unwrap();
    assert_eq!(
        store
            .tenant_by_apikey("key-acme")
            .await
            .unwrap()
            .unwrap()
            .secret_hash,
        "new-hash"
    );
    assert!(matches!(
        store.rotate_secret("ghost", "h".into()).await,
        Err(StoreError::NotFound)
    ));
    let names: Vec<String> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["acme"]);
}

pub async fn first_tenant_is_created_only_on_an_empty_database(store: Arc<dyn Store>) {
    let t = |name: &str| NewTenant {
        name: name.into(),
        apikey: format!("k-{name}"),
        secret_hash: "h".into(),
    };
    assert!(
        store
            .create_first_tenant(t("default"), now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .create_first_tenant(t("default"), now())
            .await
            .unwrap()
    );
    assert!(!store.create_first_tenant(t("second"), now()).await.unwrap());
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}

pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
}

/// The configuration generation moves with every change of a tenant's keys
/// or settings — and only then: claiming jobs (which moves the tenants'
/// round-robin position) leaves it alone.
pub async fn the_configuration_generation_moves_only_when_tenants_change(store: Arc<dyn Store>) {
    let before = store.config_generation().await.unwrap();
    let id = tenant(&*store, "gen").await;
    let created = store.config_generation().await.unwrap();
    crate::fixtures::job(
        &*store,
        id,
        BatchType::Customers,
        &["{\"customerId\":\"c\"}".to_owned()],
    )
    .await;
    let claim = store
        .claim_job(now(), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(claim.is_some());
    assert_eq!(
        store.config_generation().await.unwrap(),
        created,
        "jobs and claims do not move it"
    );
    assert!(created >= before);
    store.rotate_secret("gen", "other".into()).await.unwrap();
    let rotated = store.config_generation().await.unwrap();
    assert!(rotated > created, "a rotated secret moves it");
    let mut settings = store.program_settings(id).await.unwrap();
    settings.high_security = false;
    store.set_tenant_settings("gen", settings).await.unwrap();
    assert!(
        store.config_generation().await.unwrap() > rotated,
        "changed settings move it"
    );
}
