//! API tests: `GET /batch/{jobId}/events`, a job's progress as Server-Sent Events.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;
use store::{ChunkWork, Store};
use time::OffsetDateTime;

/// An open event stream, read event by event.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

#[derive(Debug)]
struct Sent {
    event: String,
    id: String,
    data: Value,
}

impl Events {
    async fn open(s: &TestServer, job: i64, last_event_id: Option<&str>) -> Events {
        let mut req = s.as_a(Method::GET, &format!("{BASE}/batch/{job}/events"));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Events {
            resp,
            buf: String::new(),
        }
    }

    /// The next event, or `None` when the server ended the stream.
    async fn next(&mut self) -> Option<Sent> {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix(name))
                            .map(|v| v.trim().to_owned())
                    };
                    // Comments (keep-alives) carry no event.
                    let Some(event) = field("event:") else {
                        continue;
                    };
                    return Some(Sent {
                        event,
                        id: field("id:").unwrap_or_default(),
                        data: serde_json::from_str(&field("data:").unwrap_or_default()).unwrap(),
                    });
                }
                match self.resp.chunk().await.unwrap() {
                    Some(bytes) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                    None => return None,
                }
            }
        })
        .await
        .expect("the stream answers within 10 s")
    }
}

/// Claims the next queued job, as a worker would.
async fn claim(store: &dyn Store) -> store::Claim {
    store
        .claim_job(OffsetDateTime::now_utc(), Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a queued job")
}

/// Commits the job's items one chunk of one item at a time, under one claim.
async fn commit_one(store: &dyn Store, claim: &store::Claim, index: u32) {
    let raw = store
        .load_items(claim.fence.job_id, index, 1)
        .await
        .unwrap();
    let items =
        domain::ChunkItems::parse(claim.batch_type, raw.iter().map(|(i, t)| (*i, t.as_str())));
    let now = OffsetDateTime::now_utc();
    let work = ChunkWork {
        tenant_id: claim.tenant_id,
        from: index,
        items,
        now,
        retention: Duration::from_secs(3600),
        lease_until: now + Duration::from_secs(30),
    };
    store.apply_chunk(claim.fence, work).await.unwrap();
}

async fn a_ten_chunk_jobs_stream_counts_up_and_ends_with_the_final_event() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(10, "c")).await;
    let mut events = Events::open(&s, job, None).await;
    let first = events.next().await.unwrap();
    assert_eq!((first.event.as_str(), first.id.as_str()), ("progress", "0"));
    assert_eq!(
        (
            first.data["status"].as_str(),
            first.data["itemCount"].as_u64()
        ),
        (Some("queued"), Some(10))
    );
    let claim = claim(&*s.store).await;
    for index in 0..9 {
        commit_one(&*s.store, &claim, index).await;
        let e = events.next().await.unwrap();
        assert_eq!(e.event, "progress");
        assert_eq!(e.id, (index + 1).to_string());
        assert_eq!(e.data["totalCount"], index + 1);
        assert_eq!(e.data["unprocessedCount"], 9 - index);
        assert_eq!(e.data["status"], "running");
    }
    commit_one(&*s.store, &claim, 9).await;
    let last = events.next().await.unwrap();
    assert_eq!(
        (last.event.as_str(), last.id.as_str()),
        ("completed", "final")
    );
    assert_eq!(
        (
            last.data["finishedCount"].as_u64(),
            last.data["jobId"].as_i64()
        ),
        (Some(10), Some(job))
    );
    assert!(last.data.get("response").is_none());
    assert!(
        events.next().await.is_none(),
        "the stream ends after the final event"
    );

    // Resuming: after item 5 only the final event is left; after it, nothing.
    let mut resumed = Events::open(&s, job, Some("5")).await;
    assert_eq!(resumed.next().await.unwrap().event, "completed");
    assert!(resumed.next().await.is_none());
    let mut done = Events::open(&s, job, Some("final")).await;
    assert!(done.next().await.is_none());
}

async fn a_stopped_job_ends_its_stream_and_strangers_get_404() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(3, "c")).await;
    let mut events = Events::open(&s, job, None).await;
    assert_eq!(events.next().await.unwrap().event, "progress");
    let (status, _) = s.call(Method::DELETE, &format!("/batch/{job}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let stopped = events.next().await.unwrap();
    assert_eq!(
        (stopped.event.as_str(), stopped.data["status"].as_str()),
        ("stopped", Some("stopped"))
    );
    let other = s
        .as_b(Method::GET, &format!("{BASE}/batch/{job}/events"))
        .send()
        .await
        .unwrap();
    expect_error(other, StatusCode::NOT_FOUND, 4004).await;
    s.refused(
        Method::GET,
        "/batch/999/events",
        None,
        StatusCode::NOT_FOUND,
        4004,
    )
    .await;
}

/// A stream is a request in flight until it ends: neither the idle timeout
/// (for silent connections) nor the send timeout (for clients that stop
/// reading; here the server has nothing to send) cuts it, however long the job takes.
async fn a_stream_outlives_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let s = TestServer::start(Options {
        http: server::HttpSettings {
            connections: server::ConnectionSettings {
                idle_timeout: idle,
                send_timeout: idle,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let job = s.submit("customers", customers(2, "c")).await;
    let mut events = Events::open(&s, job, None).await;
    assert_eq!(events.next().await.unwrap().id, "0");
    // Nothing happens for several idle timeouts.
    tokio::time::sleep(idle * 4).await;
    s.drain().await;
    assert_eq!(events.next().await.unwrap().event, "completed");
}

/// Many streams of one job each get every event, from one shared entry of the
/// server's reader; a stream joining late resumes from its `Last-Event-ID`.
async fn fifty_streams_of_one_job_each_see_every_event() {
    let s = TestServer::paused().await;
    let job = s.submit("customers", customers(3, "c")).await;
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(Events::open(&s, job, None).await);
    }
    for events in &mut streams {
        assert_eq!(events.next().await.unwrap().id, "0");
    }
    assert_eq!(s.jobs.followed(), 1, "50 streams, one job followed");
    let claim = claim(&*s.store).await;
    for index in 0..2 {
        if index == 1 {
            // Joins the followed job having seen its first item: nothing is sent
            // to it until the next chunk commits.
            streams.push(Events::open(&s, job, Some("1")).await);
        }
        commit_one(&*s.store, &claim, index).await;
        for events in &mut streams {
            let e = events.next().await.unwrap();
            assert_eq!(
                (e.event.as_str(), e.data["totalCount"].as_u64()),
                ("progress", Some(u64::from(index) + 1))
            );
        }
    }
    commit_one(&*s.store, &claim, 2).await;
    for events in &mut streams {
        assert_eq!(events.next().await.unwrap().event, "completed");
        assert!(events.next().await.is_none());
    }
}

/// A node's streams share one read of their jobs, however many follow each, and
/// see their job's new rows; a purged job ends them; closed streams stop the reads.
async fn a_nodes_streams_share_one_read_of_their_jobs() {
    let s = TestServer::paused().await;
    let ids = [
        s.submit("customers", customers(2, "a")).await,
        s.submit("customers", customers(2, "b")).await,
        s.submit("customers", customers(2, "c")).await,
    ];
    let tenant = s
        .store
        .tenant_by_apikey(&s.a.apikey)
        .await
        .unwrap()
        .unwrap()
        .id;
    let watch = server::streams::JobWatch::read_on_demand(s.app.jobs().clone());
    let mut followers = Vec::new();
    for id in ids {
        let job = s.store.job(tenant, id).await.unwrap().unwrap();
        for _ in 0..100 {
            followers.push((id, watch.follow(&job)));
        }
    }
    assert_eq!(watch.followed(), 3);
    let claim = claim(&*s.store).await;
    let progressed = claim.fence.job_id;
    commit_one(&*s.store, &claim, 0).await;
    let before = watch.reads();
    assert!(watch.read_all().await);
    assert_eq!(
        watch.reads() - before,
        1,
        "one query for 300 streams of 3 jobs"
    );
    for (id, latest) in &mut followers {
        if *id == progressed {
            assert!(latest.has_changed().unwrap());
            assert_eq!(latest.borrow_and_update().as_ref().unwrap().processed, 1);
        } else {
            assert!(!latest.has_changed().unwrap(), "job {id} did not change");
        }
    }
    // Stopped and purged: its followers see it gone.
    let (status, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/batch/{progressed}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.store
        .purge_expired(OffsetDateTime::now_utc() + Duration::from_secs(400 * 24 * 3600))
        .await
        .unwrap();
    assert!(watch.read_all().await);
    for (id, latest) in &mut followers {
        if *id == progressed {
            assert!(latest.borrow_and_update().is_none());
        }
    }
    followers.clear();
    assert!(!watch.read_all().await, "nothing followed: the reader ends");
    assert_eq!(watch.followed(), 0);
}

/// One tenant's event streams cannot take the node's connections: at its
/// limit the next answers 429 with `Retry-After`, other tenants still stream,
/// and a stream that ends gives its place back.
async fn a_tenants_open_streams_are_limited_and_others_still_stream() {
    let s = TestServer::start(Options {
        app: app::Settings {
            tenant_streams: 3,
            ..app::Settings::default()
        },
        ..Options::default()
    })
    .await;
    let job = s.submit("customers", customers(2, "a")).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Events::open(&s, job, None).await);
    }
    let refused = s
        .as_a(Method::GET, &format!("{BASE}/batch/{job}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    let message = expect_error(refused, StatusCode::TOO_MANY_REQUESTS, 3011).await;
    assert!(message.contains("3 event streams"), "{message}");
    // Another tenant streams meanwhile.
    let b_job = {
        let body = serde_json::json!({"body": [{"customerId": "b"}]});
        let (_, created) = read(
            s.as_b(Method::POST, &format!("{BASE}/batch/customers"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        created["jobId"].as_i64().unwrap()
    };
    let b_stream = s
        .as_b(Method::GET, &format!("{BASE}/batch/{b_job}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(b_stream.status(), StatusCode::OK);
    // The job ends: its streams end and give their places back.
    let (status, _) = s.call(Method::DELETE, &format!("/batch/{job}"), None).await;
    assert_eq!(status, StatusCode::OK);
    for mut events in open {
        while events.next().await.is_some() {}
    }
    let again = s.submit("customers", customers(1, "again")).await;
    let _reopened = Events::open(&s, again, None).await;
}

crate::on_both_backends!(
    fifty_streams_of_one_job_each_see_every_event,
    a_nodes_streams_share_one_read_of_their_jobs,
    a_stream_outlives_the_idle_timeout,
    a_ten_chunk_jobs_stream_counts_up_and_ends_with_the_final_event,
    a_stopped_job_ends_its_stream_and_strangers_get_404,
    a_tenants_open_streams_are_limited_and_others_still_stream,
);
