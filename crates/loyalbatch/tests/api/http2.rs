//! HTTP/2 cleartext (prior knowledge) with raw h2 frames: off unless asked
//! for; when on, few streams per connection, a response the peer never opens
//! its window for closes the connection at the send timeout, and responses'
//! unsent bytes are capped per connection and per node.

use crate::common::*;
use bytes::Bytes;
use reqwest::StatusCode;
use server::{ConnectionSettings, HttpSettings};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A deadline for what must happen; never a pause to wait for work.
const PATIENCE: Duration = Duration::from_secs(20);

async fn server(connections: ConnectionSettings) -> TestServer {
    TestServer::start(Options {
        http: HttpSettings {
            connections,
            ..HttpSettings::default()
        },
        ..Options::default()
    })
    .await
}

/// An HTTP/2 client whose streams' windows are `window` bytes (0: the server
/// may send no byte of a body), and that never widens them.
struct Peer {
    requests: h2::client::SendRequest<Bytes>,
    /// Ends when the server closes the connection.
    connection: JoinHandle<()>,
    /// The streams the server lets this client open at once.
    max_streams: watch::Receiver<usize>,
}

impl Peer {
    async fn connect(s: &TestServer, window: u32) -> Peer {
        let tcp = TcpStream::connect(s.url.trim_start_matches("http://"))
            .await
            .unwrap();
        let (requests, mut connection) = h2::client::Builder::new()
            .initial_window_size(window)
            .handshake::<_, Bytes>(tcp)
            .await
            .unwrap();
        let (tell, max_streams) = watch::channel(0);
        let connection = tokio::spawn(async move {
            let _ = futures::future::poll_fn(|cx| {
                let polled = std::pin::Pin::new(&mut connection).poll(cx);
                tell.send_replace(connection.max_concurrent_send_streams());
                polled
            })
            .await;
        });
        Peer {
            requests,
            connection,
            max_streams,
        }
    }

    /// Sends `GET path`; answers the response's head (its body is left unread).
    async fn get(&mut self, path: &str) -> Result<http::Response<h2::RecvStream>, h2::Error> {
        let request = http::Request::get(format!("http://x{path}"))
            .body(())
            .unwrap();
        futures::future::poll_fn(|cx| self.requests.poll_ready(cx)).await?;
        let (response, _) = self.requests.send_request(request, true)?;
        tokio::time::timeout(PATIENCE, response)
            .await
            .expect("an answer in time")
    }

    async fn closed_by_the_server(self) {
        tokio::time::timeout(PATIENCE, self.connection)
            .await
            .expect("the server closes the connection")
            .unwrap();
    }
}

#[tokio::test]
async fn http2_is_off_unless_asked_for() {
    let s = server(ConnectionSettings::default()).await;
    let tcp = TcpStream::connect(s.url.trim_start_matches("http://"))
        .await
        .unwrap();
    let answered = async {
        let (mut requests, connection) = h2::client::handshake(tcp).await?;
        tokio::spawn(connection);
        let request = http::Request::get("http://x/health").body(()).unwrap();
        let (response, _) = requests.send_request(request, true)?;
        response.await
    };
    let answer = tokio::time::timeout(PATIENCE, answered)
        .await
        .expect("refused in time");
    assert!(answer.is_err(), "an HTTP/2 answer: {answer:?}");
    // HTTP/1.1 is served.
    let resp = s.request(reqwest::Method::GET, "/health").send().await;
    assert_eq!(resp.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_response_the_peer_never_takes_closes_its_connection_at_the_send_timeout() {
    let s = server(ConnectionSettings {
        http2: true,
        http2_max_streams: 4,
        send_timeout: Duration::from_millis(500),
        idle_timeout: PATIENCE * 3,
        ..ConnectionSettings::default()
    })
    .await;
    let mut peer = Peer::connect(&s, 0).await;
    let head = peer.get("/health").await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(*peer.max_streams.borrow(), 4, "the server's stream limit");
    // The body can never be sent: the connection is closed.
    peer.closed_by_the_server().await;
    // A peer that reads is served.
    let mut reader = Peer::connect(&s, 65_535).await;
    let head = reader.get("/health").await.unwrap();
    let mut body = head.into_body();
    let data = tokio::time::timeout(PATIENCE, body.data())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&data[..], br#"{"status":"ok"}"#);
}

#[tokio::test]
async fn unsent_bytes_are_capped_per_connection() {
    let s = server(ConnectionSettings {
        http2: true,
        max_unsent_bytes_per_connection: 64 * 1024,
        ..ConnectionSettings::default()
    })
    .await;
    let mut peer = Peer::connect(&s, 0).await;
    // The document (about 430 KB) waits, whole, for a window never opened.
    let held = peer.get("/api/openapi.json").await.unwrap();
    assert_eq!(held.status(), StatusCode::OK);
    let refused = peer.get("/api/openapi.json").await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let health = peer.get("/health").await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "probes are answered");
    // Another connection has its own share.
    let mut other = Peer::connect(&s, 0).await;
    let theirs = other.get("/api/openapi.json").await.unwrap();
    assert_eq!(theirs.status(), StatusCode::OK);
}

#[tokio::test]
async fn unsent_bytes_are_capped_per_node() {
    let s = server(ConnectionSettings {
        http2: true,
        max_unsent_bytes_per_connection: 64 * 1024,
        max_unsent_bytes: 64 * 1024,
        ..ConnectionSettings::default()
    })
    .await;
    let mut holder = Peer::connect(&s, 0).await;
    let held = holder.get("/api/openapi.json").await.unwrap();
    assert_eq!(held.status(), StatusCode::OK);
    let mut other = Peer::connect(&s, 0).await;
    let refused = other.get("/api/openapi.json").await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(other.get("/health").await.unwrap().status(), StatusCode::OK);
    // The holder leaves: its bytes are given back.
    drop(held);
    drop(holder);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = s
            .request(reqwest::Method::GET, "/api/openapi.json")
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(tokio::time::Instant::now() < deadline, "never given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
