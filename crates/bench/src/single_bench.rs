//! `loyalbatch-bench single`: what a storefront and a checkout feel — single
//! calls under `--connections` (default 64) keep-alive connections against a
//! separate server process, each ÷ `GET /health` of the same server in the
//! same round:
//!
//! 1. `GET /health` (the node's HTTP ceiling on this machine, now);
//! 2. `GET …/customers/{id}/balance` over 5,000 customers with points;
//! 3. `POST …/transactions/cashback`, each with a fresh transaction id.
//!
//! Every answer must be a 200; the server's peak memory (`VmHWM`) is read at
//! the end. The server is this binary's `serve-child`, or with
//! `--server-binary` a `loyalbatch serve` of any build (to measure two builds
//! alternately). The load generator is this process: raw HTTP/1.1
//! connections (hyper), so what it spends per request stays small beside the
//! server.

use crate::api::Api;
use crate::backend::{Backend, Database};
use crate::cpu::Stopwatch;
use crate::external::{self, External};
use crate::phases::DRAIN_DEADLINE;
use crate::server_process::ServerProcess;
use crate::stats::{Latencies, median};
use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use engine::EngineConfig;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Customers given points before the calls start (the balance reads' keys).
const CUSTOMERS: usize = 5_000;

pub struct SingleSettings {
    pub connections: usize,
    /// A `loyalbatch` binary to run as the server instead of the serve-child.
    pub server_binary: Option<std::path::PathBuf>,
    /// How long each call is driven per round.
    pub seconds: u64,
    pub rounds: usize,
    pub config: EngineConfig,
}

/// One call's figures in one round.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_second: f64,
    pub latency: Latencies,
    /// Cores the server and this load generator kept busy meanwhile.
    pub server_cores: f64,
    pub generator_cores: f64,
}

/// One round: the three calls, each driven for the same time.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    pub health: Rate,
    pub balance: Rate,
    pub cashback: Rate,
}

/// What the calls are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Health,
    Balance,
    Cashback,
}

struct Target {
    authority: String,
    base_path: String,
    apikey: String,
    secret: String,
}

/// Everything a request needs that does not change between requests, made
/// once (the load generator shares the server's two cores: what it spends per
/// request, the server does not get).
struct Prepared {
    host: HeaderValue,
    apikey: HeaderValue,
    secret: HeaderValue,
    json: HeaderValue,
    health: Uri,
    cashback: Uri,
    balances: Vec<Uri>,
    /// Requests made so far, over all connections: a checkout's transaction ids
    /// (order numbers) ascend, its customers do not.
    sequence: AtomicU64,
}

impl Prepared {
    fn of(t: &Target) -> Result<Prepared> {
        Ok(Prepared {
            host: HeaderValue::from_str(&t.authority)?,
            apikey: HeaderValue::from_str(&t.apikey)?,
            secret: HeaderValue::from_str(&t.secret)?,
            json: HeaderValue::from_static("application/json"),
            health: Uri::from_static("/health"),
            cashback: format!("{}/transactions/cashback", t.base_path).parse()?,
            balances: (0..CUSTOMERS)
                .map(|c| format!("{}/customers/c{c}/balance", t.base_path).parse())
                .collect::<Result<_, _>>()?,
            sequence: AtomicU64::new(0),
        })
    }

    /// The next request of `call`: a customer picked at random (a multiplicative
    /// hash of the sequence), a transaction id next in order.
    fn request(&self, call: Call, round: usize) -> Request<Full<Bytes>> {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let customer = (n.wrapping_mul(2_654_435_761) % CUSTOMERS as u64) as usize;
        let (method, uri, body) = match call {
            Call::Health => (Method::GET, self.health.clone(), Bytes::new()),
            Call::Balance => (Method::GET, self.balances[customer].clone(), Bytes::new()),
            Call::Cashback => (
                Method::POST,
                self.cashback.clone(),
                Bytes::from(format!(
                    r#"{{"customerId":"c{customer}","transactionId":"order-{round}-{n:010}","transactionTime":"2026-11-28T10:00:00Z","amount":12.5}}"#
                )),
            ),
        };
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert("apikey", self.apikey.clone());
        headers.insert("secretkey", self.secret.clone());
        if call == Call::Cashback {
            headers.insert(CONTENT_TYPE, self.json.clone());
        }
        request
    }
}

/// Drives `call` on `connections` connections for `seconds` (after a second of
/// warm-up that is not counted).
async fn drive(
    server: u32,
    target: &Target,
    prepared: &Arc<Prepared>,
    call: Call,
    round: usize,
    connections: usize,
    seconds: u64,
) -> Result<Rate> {
    let warm = Instant::now() + Duration::from_secs(1);
    let end = warm + Duration::from_secs(seconds);
    let counted = Arc::new(AtomicU64::new(0));
    let (server_cpu, generator_cpu) = (Stopwatch::of_process(server)?, Stopwatch::start()?);
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (prepared, counted) = (prepared.clone(), counted.clone());
        let authority = target.authority.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&authority).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            let mut latencies = Vec::new();
            loop {
                let started = Instant::now();
                if started >= end {
                    return anyhow::Ok(latencies);
                }
                let response = sender.send_request(prepared.request(call, round)).await?;
                let status = response.status();
                let body = response.into_body().collect().await?.to_bytes();
                if !status.is_success() {
                    bail!("{status}: {}", String::from_utf8_lossy(&body));
                }
                if started >= warm {
                    latencies.push(started.elapsed());
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.context("a load task panicked")??);
    }
    let count = counted.load(Ordering::Relaxed);
    Ok(Rate {
        per_second: count as f64 / seconds as f64,
        latency: Latencies::of(all),
        server_cores: server_cpu.lap()?.cores_busy,
        generator_cores: generator_cpu.lap()?.cores_busy,
    })
}

/// Gives `CUSTOMERS` customers points, through the Batch API.
async fn seed(api: &Api) -> Result<()> {
    for from in (0..CUSTOMERS).step_by(1000) {
        let items: Vec<serde_json::Value> = (from..(from + 1000).min(CUSTOMERS))
            .map(|i| serde_json::json!({"customerId": format!("c{i}"), "transactionId": format!("seed{i}"), "transactionTime": "2026-11-28T10:00:00Z", "amount": 100}))
            .collect();
        api.submit_batch(
            "cashback",
            serde_json::to_vec(&serde_json::json!({"body": items}))?,
        )
        .await?;
    }
    api.wait_until_drained(DRAIN_DEADLINE).await
}

/// The server under load: this binary's serve-child, or a build of `loyalbatch`.
enum Node {
    Child(ServerProcess),
    Binary(External),
}

impl Node {
    async fn start(db: &Database, s: &SingleSettings) -> Result<(Node, Api, Target)> {
        Ok(match &s.server_binary {
            None => {
                let server = ServerProcess::spawn(&db.target(), &s.config, true).await?;
                let (authority, base_path) = server.address()?;
                let target = Target {
                    authority,
                    base_path,
                    apikey: server.apikey().to_owned(),
                    secret: server.secret().to_owned(),
                };
                (Node::Child(server), api_of(&target)?, target)
            }
            Some(binary) => {
                let server = External::spawn(binary, &db.target()).await?;
                let target = Target {
                    authority: server.authority.clone(),
                    base_path: server.base_path().to_owned(),
                    apikey: external::APIKEY.to_owned(),
                    secret: external::SECRET.to_owned(),
                };
                let api = Api::new(&server.base_url(), external::APIKEY, external::SECRET)?;
                (Node::Binary(server), api, target)
            }
        })
    }

    fn pid(&self) -> u32 {
        match self {
            Node::Child(n) => n.pid(),
            Node::Binary(n) => n.pid(),
        }
    }

    fn memory(&self) -> Result<crate::rss::Sample> {
        match self {
            Node::Child(n) => n.memory(),
            Node::Binary(n) => n.memory(),
        }
    }

    async fn stop(self) -> Result<()> {
        match self {
            Node::Child(n) => n.kill().await,
            Node::Binary(n) => n.kill().await,
        }
    }
}

fn api_of(t: &Target) -> Result<Api> {
    Api::new(
        &format!("http://{}{}", t.authority, t.base_path),
        &t.apikey,
        &t.secret,
    )
}

pub async fn run(backend: &Backend, s: SingleSettings, json: bool, date: String) -> Result<()> {
    ensure!(
        s.seconds > 0 && s.rounds > 0,
        "--seconds and --rounds must be positive"
    );
    let db = Database::create(backend).await?;
    let (node, api, target) = Node::start(&db, &s).await?;
    seed(&api).await?;
    let prepared = Arc::new(Prepared::of(&target)?);
    let mut rounds = Vec::with_capacity(s.rounds);
    for round in 0..s.rounds {
        let drive = |call| {
            drive(
                node.pid(),
                &target,
                &prepared,
                call,
                round,
                s.connections,
                s.seconds,
            )
        };
        rounds.push(Round {
            health: drive(Call::Health).await.context("GET /health")?,
            balance: drive(Call::Balance).await.context("GET balance")?,
            cashback: drive(Call::Cashback).await.context("POST cashback")?,
        });
    }
    let memory = node.memory()?;
    node.stop().await?;
    db.remove().await?;
    let ratio = |f: fn(&Round) -> f64| -> Vec<f64> {
        rounds.iter().map(|r| f(r) / r.health.per_second).collect()
    };
    let balance = ratio(|r| r.balance.per_second);
    let cashback = ratio(|r| r.cashback.per_second);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "workload": "single", "date": date, "backend": backend.name(),
                "connections": s.connections, "seconds": s.seconds,
                "healthPerSecond": rounds.iter().map(|r| r.health.per_second).collect::<Vec<_>>(),
                "balancePerSecond": rounds.iter().map(|r| r.balance.per_second).collect::<Vec<_>>(),
                "cashbackPerSecond": rounds.iter().map(|r| r.cashback.per_second).collect::<Vec<_>>(),
                "balanceRatio": balance, "cashbackRatio": cashback,
                "balanceP99Ms": rounds.iter().map(|r| r.balance.latency.p99).collect::<Vec<_>>(),
                "cashbackP99Ms": rounds.iter().map(|r| r.cashback.latency.p99).collect::<Vec<_>>(),
                "serverPeakRssMiB": memory.peak_kib as f64 / 1024.0,
                "serverAnonRssMiB": memory.anon_kib as f64 / 1024.0,
                "serverFileRssMiB": memory.file_kib as f64 / 1024.0,
            })
        );
        return Ok(());
    }
    let m = crate::machine::describe();
    println!(
        "loyalbatch-bench single — {date} — {} — {} cores, {} — {} connections, {} s a call, {} rounds",
        backend.name(),
        m.cpus,
        m.cpu_model,
        s.connections,
        s.seconds,
        s.rounds
    );
    for (i, r) in rounds.iter().enumerate() {
        let line = |name: &str, rate: &Rate| {
            format!(
                "{name} {:.0}/s (p50 {:.2} ms, p99 {:.2} ms; cores: server {:.2}, generator {:.2})",
                rate.per_second,
                rate.latency.p50,
                rate.latency.p99,
                rate.server_cores,
                rate.generator_cores
            )
        };
        println!(
            "  round {}: {} · {} = {:.2}× · {} = {:.2}×",
            i + 1,
            line("/health", &r.health),
            line("balance GET", &r.balance),
            balance[i],
            line("cashback POST", &r.cashback),
            cashback[i]
        );
    }
    println!(
        "  medians ÷ /health: balance GET {:.2}×, cashback POST {:.2}×; server peak RSS {:.0} MiB \
         (at the end: its own memory {:.0} MiB, mapped database pages {:.0} MiB)",
        median(&balance),
        median(&cashback),
        memory.peak_kib as f64 / 1024.0,
        memory.anon_kib as f64 / 1024.0,
        memory.file_kib as f64 / 1024.0
    );
    Ok(())
}
