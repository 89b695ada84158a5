//! Test harness: the real router on port 0 over a fresh database (SQLite file, or a PostgreSQL database of its own), with keys, a typed HTTP helper and deterministic draining.

mod backends;

pub use backends::{Backend, TestDb, run_on};

use app::keys;
use engine::{Engine, EngineConfig, Shutdown};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use server::{AppState, HttpSettings};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{NewTenant, Store};
use time::OffsetDateTime;
use wire::{JobState, JobStatus};

pub const BASE: &str = "/api/v4.0/integrations";

pub struct Keys {
    pub apikey: String,
    pub secretkey: String,
}

pub struct TestServer {
    pub url: String,
    pub store: Arc<dyn Store>,
    pub engine: Engine,
    /// The server's reader of the jobs its event streams follow.
    pub jobs: server::streams::JobWatch,
    /// The application layer the server calls (for what tests read or do beside HTTP).
    pub app: app::App,
    pub db: TestDb,
    pub a: Keys,
    pub b: Keys,
    /// The client crate's typed HTTP layer, as tenant A.
    pub api: client::Api,
    http: reqwest::Client,
    shutdown: Shutdown,
    server_task: Option<tokio::task::JoinHandle<()>>,
    engine_task: Option<tokio::task::JoinHandle<()>>,
    deliverer_task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    /// Run the engine's workers in the background (else tests drain explicitly).
    pub workers_running: bool,
    /// The rules' settings.
    pub app: app::Settings,
    /// The HTTP door's limits.
    pub http: HttpSettings,
    pub console: console::Settings,
    pub engine: EngineConfig,
    /// Run a webhook deliverer beside the workers.
    pub webhooks: Option<engine::webhooks::DeliveryConfig>,
    /// The PostgreSQL pool (tests of its limits); 8 connections otherwise.
    pub postgres_pool: Option<store_postgres::PoolSettings>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers_running: false,
            app: app::Settings::default(),
            http: HttpSettings::default(),
            console: console::Settings::default(),
            engine: EngineConfig {
                poll_interval: Duration::from_millis(20),
                ..EngineConfig::default()
            },
            webhooks: None,
            postgres_pool: None,
        }
    }
}

async fn add_tenant(store: &dyn Store, name: &str) -> Keys {
    let (apikey, secretkey) = keys::generate();
    store
        .create_tenant(
            NewTenant {
                name: name.into(),
                apikey: apikey.clone(),
                secret_hash: keys::hash_secret(&secretkey),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    Keys { apikey, secretkey }
}

impl TestServer {
    /// A server whose jobs stay queued until the test calls `drain`.
    pub async fn paused() -> TestServer {
        TestServer::start(Options::default()).await
    }

    /// A server with its workers running, as in production.
    pub async fn running() -> TestServer {
        TestServer::start(Options {
            workers_running: true,
            ..Options::default()
        })
        .await
    }

    pub async fn start(options: Options) -> TestServer {
        let (store, db) = TestDb::create_with(Backend::current(), options.postgres_pool).await;
        let a = add_tenant(&*store, "tenant-a").await;
        let b = add_tenant(&*store, "tenant-b").await;
        let engine = Engine::new(store.clone(), options.engine);
        let app = app::App::new(store.clone(), &engine, options.app);
        let state = AppState::new(app.clone(), options.http);
        let jobs = state.streams.clone();
        let pages = console::routes(console::State::new(&state, options.console));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let server_task = tokio::spawn(async move {
            server::launch(
                listener,
                state,
                pages,
                async move { stop.cancelled().await },
            )
            .await
            .unwrap();
        });
        let engine_task = options
            .workers_running
            .then(|| tokio::spawn(engine.clone().run(shutdown.clone())));
        let deliverer_task = options.webhooks.map(|config| {
            let deliverer = engine::webhooks::Deliverer::new(store.clone(), config).unwrap();
            tokio::spawn(deliverer.run(shutdown.clone()))
        });
        let api = client::Api::new(&client::Connection {
            server: url.clone(),
            api_prefix: BASE.into(),
            apikey: a.apikey.clone(),
            secretkey: a.secretkey.clone(),
        })
        .unwrap();
        TestServer {
            url,
            store,
            engine,
            jobs,
            app,
            db,
            a,
            b,
            api,
            http: reqwest::Client::new(),
            shutdown,
            server_task: Some(server_task),
            engine_task,
            deliverer_task,
        }
    }

    /// Processes every runnable job to its end.
    pub async fn drain(&self) {
        self.engine.drain().await.unwrap();
    }

    /// Stops the HTTP server and waits for the workers to finish their current chunk.
    pub async fn shut_down(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.engine_task.take() {
            t.await.unwrap();
        }
        if let Some(t) = self.deliverer_task.take() {
            t.await.unwrap();
        }
        if let Some(t) = self.server_task.take() {
            t.await.unwrap();
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{}", self.url, path))
    }

    /// A request with tenant A's two keys.
    pub fn as_a(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.with_keys(&self.a, method, path)
    }

    pub fn as_b(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.with_keys(&self.b, method, path)
    }

    pub fn with_keys(&self, keys: &Keys, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path)
            .header("apikey", &keys.apikey)
            .header("secretkey", &keys.secretkey)
    }

    /// `method {BASE}{path}` as tenant A, with a JSON body when given: status and JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.as_a(method, &format!("{BASE}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    /// `POST {BASE}{path}` as tenant A with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A call expected to be refused: asserts the envelope's status and code and
    /// returns its message.
    pub async fn refused(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
        code: u32,
    ) -> String {
        let mut req = self.as_a(method, &format!("{BASE}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        expect_error(req.send().await.unwrap(), status, code).await
    }

    /// A customer's balance through `GET /customers/{id}/balance` (must answer 200).
    pub async fn balance(&self, customer: &str) -> Value {
        let (status, body) = self
            .call(Method::GET, &format!("/customers/{customer}/balance"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Submits a batch as tenant A (through the client crate) and returns its job id.
    pub async fn submit(&self, batch_type: &str, body: Value) -> i64 {
        let batch_type = wire::BatchType::parse(batch_type).expect("a batch type");
        let body = serde_json::to_vec(&serde_json::json!({ "body": body })).unwrap();
        self.api.submit(batch_type, &body, None).await.unwrap()
    }

    /// The job's status as JSON (read through the client crate's typed layer).
    pub async fn status(&self, job: i64) -> Value {
        serde_json::to_value(self.typed_status(job).await).unwrap()
    }

    pub async fn typed_status(&self, job: i64) -> JobStatus {
        self.api.status(job).await.unwrap()
    }

    /// Polls (with a deadline, never a fixed sleep) until the job reaches `state`.
    pub async fn wait_for(&self, job: i64, state: JobState) -> Value {
        self.wait_until(job, |s| s["status"] == state.as_str())
            .await
    }

    /// Polls the job's status until `done` holds for it (30 s deadline).
    pub async fn wait_until(&self, job: i64, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.status(job).await;
            if done(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "job {job} never got there: {s}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn job_count(&self, keys: &Keys) -> usize {
        let (status, json) = read(
            self.with_keys(keys, Method::GET, &format!("{BASE}/batch?limit=200"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        json["jobs"].as_array().unwrap().len()
    }

    /// A number read straight from the database (e.g. `SELECT count(*) FROM events`).
    pub async fn count_rows(&self, sql: &str) -> i64 {
        self.db.query_i64(sql).await
    }
}

/// Status and JSON body of a response (`Value::Null` when the body is empty).
pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// Asserts a Gameball error envelope with this status and code; returns the message.
pub async fn expect_error(resp: reqwest::Response, status: StatusCode, code: u32) -> String {
    let header_id = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let (got, json) = read(resp).await;
    assert_eq!(got, status, "{json}");
    assert_eq!(json["code"], code, "{json}");
    assert!(
        json["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{json}"
    );
    assert_eq!(
        json["requestId"].as_str(),
        header_id.as_deref(),
        "requestId matches the x-request-id header"
    );
    json["message"].as_str().unwrap().to_owned()
}

pub fn customers(n: usize, prefix: &str) -> Value {
    Value::Array(
        (0..n)
            .map(|i| serde_json::json!({"customerId": format!("{prefix}{i}"), "email": format!("{prefix}{i}@x.io")}))
            .collect(),
    )
}
