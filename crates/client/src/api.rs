//! A typed client of the Batch API: submit, status, list, stop — with the retry policy of a well-behaved bulk client (429 `Retry-After`, transient failures with backoff).

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::time::Duration;
use thiserror::Error;
use wire::{
    BatchType, ErrorBody, JobCreated, JobList, JobProgress, JobState, JobStatus, JobStopped,
};

/// Where and as whom to call.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `http://host:port`.
    pub server: String,
    /// The API's path below the server (`/api/v4.0/integrations`).
    pub api_prefix: String,
    pub apikey: String,
    pub secretkey: String,
}

#[derive(Debug, Error)]
pub enum ApiError {
    /// The server answered with an error envelope.
    #[error("{status}: {} (code {}, requestId {})", .body.message, .body.code, .body.request_id)]
    Refused { status: StatusCode, body: ErrorBody },
    #[error("{status}: {text}")]
    Unexpected { status: StatusCode, text: String },
    #[error("could not reach the server: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: Box<ApiError> },
}

impl ApiError {
    /// The Gameball code of a refusal.
    pub fn code(&self) -> Option<u32> {
        match self {
            ApiError::Refused { body, .. } => Some(body.code),
            ApiError::GaveUp { last, .. } => last.code(),
            _ => None,
        }
    }

    /// Worth trying again: the server was busy, unreachable or failed inside.
    fn transient(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Refused { status, .. } | ApiError::Unexpected { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::GaveUp { .. } => false,
        }
    }
}

/// How a request is retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts of a request that keeps failing transiently (429s do not count).
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How long 429s may keep a request waiting in all.
    pub max_throttled: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_throttled: Duration::from_secs(3600),
        }
    }
}

/// How far one reading of a job's event stream got.
enum Followed {
    /// The final event arrived.
    Final,
    /// Progress arrived, then the stream broke: worth reopening.
    Progressed,
    /// Nothing arrived (no stream served, or it broke at once).
    Nothing,
}

/// The typed HTTP client.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    retry: RetryPolicy,
    /// 429s answered so far (shared by clones).
    throttled: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Api {
    pub fn new(c: &Connection) -> Result<Api, ApiError> {
        let mut headers = HeaderMap::new();
        let header = |v: &str| {
            HeaderValue::from_str(v).map_err(|_| ApiError::Unexpected {
                status: StatusCode::BAD_REQUEST,
                text: "keys must be visible ASCII".into(),
            })
        };
        headers.insert("apikey", header(&c.apikey)?);
        headers.insert("secretkey", header(&c.secretkey)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(120))
            // Below a server's idle timeout (30 s by default): a pooled connection
            // is dropped here before the server closes it under a request.
            .pool_idle_timeout(Duration::from_secs(20))
            .build()?;
        Ok(Api {
            http,
            base: format!(
                "{}{}",
                c.server.trim_end_matches('/'),
                c.api_prefix.trim_end_matches('/')
            ),
            retry: RetryPolicy::default(),
            throttled: Default::default(),
        })
    }

    /// How many times the server answered 429 (queue full or rate limit) so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Api {
        self.retry = retry;
        self
    }

    /// Submits a batch body (`{"body": […]}`) with an optional idempotency key; the
    /// same key and body answer the same job, so retrying is always safe.
    pub async fn submit(
        &self,
        batch_type: BatchType,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<i64, ApiError> {
        let url = format!("{}/batch/{}", self.base, batch_type.as_str());
        let created: JobCreated = self
            .send(|| {
                let mut req = self.http.post(&url).body(body.to_vec());
                if let Some(k) = idempotency_key {
                    req = req.header("Idempotency-Key", k);
                }
                req
            })
            .await?;
        Ok(created.job_id)
    }

    /// A job's status with its per-item results.
    pub async fn status(&self, job: i64) -> Result<JobStatus, ApiError> {
        let url = format!("{}/batch/{job}", self.base);
        self.send(|| self.http.get(&url)).await
    }

    /// One page of the tenant's jobs, newest first.
    pub async fn jobs(
        &self,
        state: Option<JobState>,
        batch_type: Option<BatchType>,
        limit: u32,
        after: Option<i64>,
    ) -> Result<JobList, ApiError> {
        let mut query = vec![format!("limit={limit}")];
        if let Some(s) = state {
            query.push(format!("status={s}"));
        }
        if let Some(t) = batch_type {
            query.push(format!("type={t}"));
        }
        if let Some(a) = after {
            query.push(format!("after={a}"));
        }
        let url = format!("{}/batch?{}", self.base, query.join("&"));
        self.send(|| self.http.get(&url)).await
    }

    pub async fn stop(&self, job: i64) -> Result<JobStopped, ApiError> {
        let url = format!("{}/batch/{job}", self.base);
        self.send(|| self.http.delete(&url)).await
    }

    /// Waits until the job is completed, failed or stopped, following its event
    /// stream (`GET /batch/{job}/events`) and reopening it where it left off
    /// when it breaks; polls instead when no stream is served (an older server).
    /// `processed` hears how many items are processed as that changes. Answers
    /// the final status with its results.
    pub async fn wait(
        &self,
        job: i64,
        mut processed: impl FnMut(u32),
    ) -> Result<JobStatus, ApiError> {
        let mut last_id: Option<String> = None;
        // Each reopening must make progress, or the stream is given up for polling.
        loop {
            let before = last_id.clone();
            match self.follow(job, &mut last_id, &mut processed).await {
                Ok(Followed::Final) => break,
                // Reopened where it left off, as long as each reading moves on.
                Ok(Followed::Progressed) if last_id != before => continue,
                _ => break,
            }
        }
        let mut pause = Duration::from_millis(50);
        loop {
            let status = self.status(job).await?;
            processed(status.total_count);
            if status.status.is_final() {
                return Ok(status);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// Reads the job's event stream from `last_id` on until it ends.
    async fn follow(
        &self,
        job: i64,
        last_id: &mut Option<String>,
        processed: &mut impl FnMut(u32),
    ) -> Result<Followed, reqwest::Error> {
        let url = format!("{}/batch/{job}/events", self.base);
        let mut req = self.http.get(&url).header("accept", "text/event-stream");
        if let Some(id) = last_id.as_deref() {
            req = req.header("last-event-id", id);
        }
        let mut resp = req.send().await?;
        if !resp.status().is_success() {
            return Ok(Followed::Nothing);
        }
        let mut outcome = Followed::Nothing;
        let mut buf = String::new();
        while let Some(chunk) = resp.chunk().await? {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::trim)
                };
                if let Some(id) = field("id:") {
                    *last_id = Some(id.to_owned());
                }
                match field("event:") {
                    Some("progress") => {
                        if let Some(p) =
                            field("data:").and_then(|d| serde_json::from_str::<JobProgress>(d).ok())
                        {
                            processed(p.total_count);
                        }
                        outcome = Followed::Progressed;
                    }
                    Some(_) => return Ok(Followed::Final),
                    None => {}
                }
            }
        }
        Ok(outcome)
    }

    /// Sends the request `build` makes, retrying transient failures with backoff
    /// and 429s after their `Retry-After`.
    async fn send<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let mut failures = 0;
        let mut throttled = Duration::ZERO;
        let mut backoff = self.retry.first_backoff;
        loop {
            let (error, wait) = match build().send().await {
                Ok(resp) if resp.status().is_success() => return Ok(resp.json().await?),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = resp.text().await.unwrap_or_default();
                    let error = match serde_json::from_str::<ErrorBody>(&text) {
                        Ok(body) => ApiError::Refused { status, body },
                        Err(_) => ApiError::Unexpected { status, text },
                    };
                    (error, retry_after)
                }
                Err(e) => (ApiError::Transport(e), None),
            };
            if !error.transient() {
                return Err(error);
            }
            let is_429 = matches!(&error, ApiError::Refused { status, .. } | ApiError::Unexpected { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS);
            let pause = if is_429 {
                self.throttled
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let pause = wait.unwrap_or(backoff);
                throttled += pause;
                if throttled > self.retry.max_throttled {
                    return Err(ApiError::GaveUp {
                        attempts: failures + 1,
                        last: Box::new(error),
                    });
                }
                pause
            } else {
                failures += 1;
                if failures >= self.retry.attempts {
                    return Err(ApiError::GaveUp {
                        attempts: failures,
                        last: Box::new(error),
                    });
                }
                let jitter = rand::random::<f64>() * 0.5 + 0.75;
                let pause = backoff.mul_f64(jitter);
                backoff = (backoff * 2).min(self.retry.max_backoff);
                pause
            };
            tokio::time::sleep(pause).await;
        }
    }
}
