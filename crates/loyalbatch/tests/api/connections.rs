//! Slow, idle and too many clients cannot hold the server (issue: hostile input and faults, row 4): short timeouts configured, raw sockets.

use crate::common::*;
use reqwest::{Method, StatusCode};
use server::{ConnectionSettings, HttpSettings};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A deadline for what must happen; never a pause to wait for work.
const PATIENCE: Duration = Duration::from_secs(20);

async fn server(connections: ConnectionSettings, body_timeout: Duration) -> TestServer {
    TestServer::start(Options {
        http: HttpSettings {
            body_timeout,
            connections,
            ..HttpSettings::default()
        },
        ..Options::default()
    })
    .await
}

fn short() -> ConnectionSettings {
    ConnectionSettings {
        header_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        max_connections: 100,
        ..ConnectionSettings::default()
    }
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn envelope(response: &str) -> serde_json::Value {
    let body = response.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(body).expect("a JSON envelope")
}

#[tokio::test]
async fn a_head_trickled_a_byte_at_a_time_is_cut_off_with_a_408() {
    let s = server(short(), Duration::from_secs(30)).await;
    let mut stream = connect(&s).await;
    let head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let trickle = async {
        for b in head.iter().chain(std::iter::repeat(&b'a')) {
            if stream.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    // The trickle goes on until the server gives up on it.
    tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("the server stops reading");
    let response = until_closed(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let e = envelope(&response);
    assert_eq!(e["code"], 3016);
    assert!(
        e["message"].as_str().unwrap().contains("request head"),
        "{e}"
    );
    let id = e["requestId"].as_str().unwrap();
    assert!(!id.is_empty(), "{e}");
    assert!(
        response.contains(&format!("x-request-id: {id}\r\n")),
        "{response}"
    );
}

#[tokio::test]
async fn idle_connections_are_closed_before_and_between_requests() {
    let s = server(short(), Duration::from_secs(30)).await;
    let mut silent = connect(&s).await;
    assert_eq!(until_closed(&mut silent).await, "", "no request, no answer");
    let mut kept_alive = connect(&s).await;
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = until_closed(&mut kept_alive).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(response.matches("HTTP/1.1").count(), 1);
}

#[tokio::test]
async fn a_body_that_never_ends_is_answered_with_a_408_envelope() {
    let s = server(
        ConnectionSettings {
            idle_timeout: Duration::from_secs(30),
            ..short()
        },
        Duration::from_millis(300),
    )
    .await;
    let mut stream = connect(&s).await;
    let head = format!(
        "POST {BASE}/batch/customers HTTP/1.1\r\nHost: x\r\napikey: {}\r\nsecretkey: {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{{\"bod\r\n",
        s.a.apikey, s.a.secretkey
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let response = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let e = envelope(&response);
    assert_eq!(e["code"], 3016);
    assert!(e["message"].as_str().unwrap().contains("body"), "{e}");
    assert_eq!(s.job_count(&s.a).await, 0);
}

#[tokio::test]
async fn past_the_connection_limit_clients_get_a_503_and_health_still_answers() {
    let s = server(
        ConnectionSettings {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 5,
            ..ConnectionSettings::default()
        },
        Duration::from_secs(30),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut c = connect(&s).await;
        // A served request proves the connection took a slot.
        c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = c.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(c);
    }
    let mut extra = connect(&s).await;
    extra
        .write_all(format!("GET {BASE}/batch HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let response = until_closed(&mut extra).await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 1"),
        "{response}"
    );
    assert_eq!(envelope(&response)["code"], 5000);
    let mut probe = connect(&s).await;
    probe
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = until_closed(&mut probe).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // A slot given back is served again.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, _) = read(
            s.as_a(reqwest::Method::GET, &format!("{BASE}/batch"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        if status == reqwest::StatusCode::OK {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bodies_past_the_in_flight_budget_get_a_503_until_bytes_are_freed() {
    let s = TestServer::start(Options {
        http: HttpSettings {
            max_inflight_body_bytes: 1000,
            ..HttpSettings::default()
        },
        ..Options::default()
    })
    .await;
    let head = format!(
        "POST {BASE}/batch/customers HTTP/1.1\r\nHost: x\r\napikey: {}\r\nsecretkey: {}\r\n\
         content-type: application/json\r\ncontent-length: 990\r\n\r\n{{\"body\":",
        s.a.apikey, s.a.secretkey
    );
    let small = serde_json::json!({"body": [{"customerId": "c1"}]});
    let deadline = tokio::time::Instant::now() + PATIENCE;
    // A request that holds 990 bytes of the budget while its body trickles in.
    // While it waits for its reservation a small body may hold bytes, and then
    // the slow one is refused instead: it is sent again until it holds them.
    let (slow, refused) = 'slow: loop {
        let mut slow = connect(&s).await;
        slow.write_all(head.as_bytes()).await.unwrap();
        // Once the slow body's bytes are reserved, a second body does not fit.
        loop {
            let resp = s
                .as_a(reqwest::Method::POST, &format!("{BASE}/batch/customers"))
                .json(&small)
                .send()
                .await
                .unwrap();
            if resp.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                break 'slow (slow, resp);
            }
            assert!(tokio::time::Instant::now() < deadline, "never refused");
            let mut answer = [0u8; 64];
            match slow.try_read(&mut answer) {
                // Answered (the 503) or closed: the slow request holds nothing.
                Ok(_) => continue 'slow,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    assert_eq!(refused.headers()["retry-after"], "1");
    let message = expect_error(refused, reqwest::StatusCode::SERVICE_UNAVAILABLE, 5000).await;
    assert!(message.contains("busy"), "{message}");
    // The slow client goes away: its bytes are freed and the next body is taken.
    drop(slow);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, _) = read(
            s.as_a(reqwest::Method::POST, &format!("{BASE}/batch/customers"))
                .json(&small)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if status == reqwest::StatusCode::OK {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads one response to `GET /health` (its head, then its body by length).
async fn health_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&out).ends_with("{\"status\":\"ok\"}") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("a response")
            .unwrap();
        assert!(n > 0, "closed before the response");
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The header timeout runs from a head's first byte whenever it comes: right
/// after connecting, and on a kept-alive connection after a response — never
/// only when the (much longer) idle timeout would have passed.
#[tokio::test]
async fn a_head_started_at_any_time_gets_its_408_at_the_header_timeout() {
    let s = server(
        ConnectionSettings {
            header_timeout: Duration::from_millis(300),
            // Longer than the test's patience: a 408 can only come from the header timeout.
            idle_timeout: PATIENCE * 3,
            ..ConnectionSettings::default()
        },
        Duration::from_secs(30),
    )
    .await;
    let mut fresh = connect(&s).await;
    fresh.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    let response = until_closed(&mut fresh).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");

    let mut kept_alive = connect(&s).await;
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let first = health_response(&mut kept_alive).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let response = until_closed(&mut kept_alive).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
}

/// A client that asks for responses and stops reading them is cut off at the
/// send timeout, and its connection's place goes to the next client (only one
/// connection is served here).
#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_at_the_send_timeout() {
    let s = server(
        ConnectionSettings {
            header_timeout: PATIENCE * 3,
            idle_timeout: PATIENCE * 3,
            send_timeout: Duration::from_millis(500),
            max_connections: 1,
            ..ConnectionSettings::default()
        },
        Duration::from_secs(30),
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket
        .connect(s.url.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    // 40 pipelined documents of about 430 KB each: far more than the sockets hold.
    let requests = "GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(40);
    stalled.write_all(requests.as_bytes()).await.unwrap();

    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let resp = s.request(Method::GET, "/api/openapi.json").send().await;
        if let Ok(resp) = resp
            && resp.status() == StatusCode::OK
        {
            assert!(resp.bytes().await.unwrap().len() > 100_000);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled client kept the only connection"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The stalled connection was closed: what it holds ends, far short of 40 documents.
    let mut got = Vec::new();
    let ended = tokio::time::timeout(PATIENCE, stalled.read_to_end(&mut got)).await;
    assert!(ended.is_ok(), "the server closed the connection");
    assert!(got.len() < 40 * 400_000, "{} bytes", got.len());
}
