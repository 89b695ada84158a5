//! PostgreSQL's connections are shared fairly: a call waits a bounded time
//! for one (then 503 with `Retry-After`), `/ready` never queues behind
//! tenants' queries, one tenant's listings take only its share, and a listing
//! that runs too long is cancelled. Slowness is made deterministic by locking
//! a table from a connection of the test's own, not by timing.

use crate::common::*;
use reqwest::{Method, StatusCode};
use std::time::Duration;
use store_postgres::PoolSettings;

/// The longest the test waits for any answer (a deadline, not a measurement).
const DEADLINE: Duration = Duration::from_secs(30);

fn postgres_configured() -> bool {
    std::env::var(test_support::postgres::TEST_URL_VAR).is_ok()
}

/// Holds `table` locked (ACCESS EXCLUSIVE) until the returned client is dropped
/// or its transaction rolled back.
async fn lock(s: &TestServer, table: &str) -> tokio_postgres::Client {
    let TestDb::Postgres(db) = &s.db else {
        panic!("PostgreSQL only");
    };
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
        ))
        .await
        .unwrap();
    client
}

/// A GET as `keys`, sent when awaited (the future owns all it needs).
fn get(
    s: &TestServer,
    keys: &Keys,
    path: &str,
) -> impl std::future::Future<Output = reqwest::Response> + Send + use<> {
    let req = s.with_keys(keys, Method::GET, &format!("{BASE}{path}"));
    async move {
        tokio::time::timeout(DEADLINE, req.send())
            .await
            .expect("answered before the deadline")
            .unwrap()
    }
}

#[tokio::test]
async fn a_busy_pool_answers_503_and_ready_still_answers() {
    if !postgres_configured() {
        return;
    }
    run_on(Backend::Postgres, async {
        let s = TestServer::start(Options {
            postgres_pool: Some(PoolSettings {
                max_connections: 2,
                acquire_timeout: Duration::from_millis(300),
                ..PoolSettings::default()
            }),
            ..Options::default()
        })
        .await;
        let held = lock(&s, "jobs").await;
        // Each job read takes a connection and waits on the lock: the third and
        // later find none free in time. (Customer reads arriving together share
        // one query and its connection, so they would not fill the pool.)
        let calls: Vec<_> = (1..=6)
            .map(|i| get(&s, &s.a, &format!("/batch/{i}")))
            .collect();
        let ready = tokio::spawn({
            let url = format!("{}/ready", s.url);
            async move { reqwest::get(url).await.unwrap().status() }
        });
        let mut answers = futures::future::join_all(calls);
        let waited = tokio::time::timeout(Duration::from_secs(3), &mut answers).await;
        assert!(waited.is_err(), "two reads wait on the lock");
        assert_eq!(
            ready.await.unwrap(),
            StatusCode::OK,
            "/ready has its own connection"
        );
        held.batch_execute("ROLLBACK").await.unwrap();
        let answers = answers.await;
        let mut busy = 0;
        for resp in answers {
            match resp.status() {
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert_eq!(resp.headers()["retry-after"], "1");
                    let message = expect_error(resp, StatusCode::SERVICE_UNAVAILABLE, 5000).await;
                    assert!(message.contains("busy"), "{message}");
                    busy += 1;
                }
                other => assert_eq!(other, StatusCode::NOT_FOUND, "the read ran once unlocked"),
            }
        }
        assert!(busy >= 4, "{busy} calls were shed");
    })
    .await;
}

#[tokio::test]
async fn one_tenants_listings_take_its_share_and_time_out_never_everyones_pool() {
    if !postgres_configured() {
        return;
    }
    run_on(Backend::Postgres, async {
        let s = TestServer::start(Options {
            postgres_pool: Some(PoolSettings {
                max_connections: 8,
                acquire_timeout: Duration::from_secs(20),
                listing_timeout: Duration::from_secs(3),
            }),
            app: app::Settings {
                tenant_listings: 2,
                listing_wait: Duration::from_millis(200),
                ..app::Settings::default()
            },
            ..Options::default()
        })
        .await;
        let held = lock(&s, "movements").await;
        // Tenant A asks for more counts than the pool has connections.
        let counts: Vec<_> = (0..12)
            .map(|_| get(&s, &s.a, "/transactions/count?from=2025-01-01T00:00:00Z"))
            .collect();
        let counts = tokio::spawn(futures::future::join_all(counts));
        // Tenant B is served meanwhile: its own listing (of jobs, a table not
        // locked) finds a connection and its share.
        let b = get(&s, &s.b, "/batch").await;
        assert_eq!(
            b.status(),
            StatusCode::OK,
            "B was served while A's listings wait"
        );
        let answers = counts.await.unwrap();
        let (mut refused, mut timed_out) = (0, 0);
        for resp in answers {
            match resp.status() {
                StatusCode::TOO_MANY_REQUESTS => {
                    assert!(resp.headers().contains_key("retry-after"));
                    let message = expect_error(resp, StatusCode::TOO_MANY_REQUESTS, 3011).await;
                    assert!(message.contains("listings running"), "{message}");
                    refused += 1;
                }
                StatusCode::UNPROCESSABLE_ENTITY => {
                    let message = expect_error(resp, StatusCode::UNPROCESSABLE_ENTITY, 3011).await;
                    assert!(message.contains("took too long"), "{message}");
                    timed_out += 1;
                }
                other => panic!("a count answered {other} while the table was locked"),
            }
        }
        assert_eq!(
            (timed_out, refused),
            (2, 10),
            "two ran (and were cancelled), ten waited their turn"
        );
        held.batch_execute("ROLLBACK").await.unwrap();
        let after = get(&s, &s.a, "/transactions/count").await;
        assert_eq!(after.status(), StatusCode::OK, "the share is given back");
    })
    .await;
}
