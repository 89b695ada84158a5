//! The benchmark's HTTP client: batch submits, job listing and waiting, and single-call upserts, as the bench tenant.

use anyhow::{Context, Result, bail, ensure};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use wire::{CustomerCreated, JobCreated, JobList, JobState, JobStatus};

/// How often job states are polled while waiting for the queue to drain.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str, apikey: &str, secret: &str) -> Result<Api> {
        let mut headers = HeaderMap::new();
        headers.insert("apikey", HeaderValue::from_str(apikey)?);
        headers.insert("secretkey", HeaderValue::from_str(secret)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Api {
            http,
            base: base.to_owned(),
        })
    }

    /// Submits one batch of `batch_type`; returns its job id and how long the POST took
    /// (request sent → `{"jobId"}` received, i.e. the durable ingest).
    pub async fn submit_batch(&self, batch_type: &str, body: Vec<u8>) -> Result<(i64, Duration)> {
        let start = Instant::now();
        let response = self
            .http
            .post(format!("{}/batch/{batch_type}", self.base))
            .body(body)
            .send()
            .await?;
        let created: JobCreated = json(response, "POST /batch").await?;
        Ok((created.job_id, start.elapsed()))
    }

    /// Upserts one customer through the single-call API; returns how long it took.
    pub async fn upsert_customer(&self, body: Vec<u8>) -> Result<Duration> {
        let start = Instant::now();
        let response = self
            .http
            .post(format!("{}/customers", self.base))
            .body(body)
            .send()
            .await?;
        let _: CustomerCreated = json(response, "POST /customers").await?;
        Ok(start.elapsed())
    }

    async fn list(&self, query: &str) -> Result<JobList> {
        let response = self
            .http
            .get(format!("{}/batch?{query}", self.base))
            .send()
            .await?;
        json(response, "GET /batch").await
    }

    /// Whether any job is still queued or running.
    async fn any_unfinished(&self) -> Result<bool> {
        // Queued first: a job that leaves `queued` between the two reads is then
        // seen `running` (or finished), never missed.
        for state in ["queued", "running"] {
            if !self
                .list(&format!("status={state}&limit=1"))
                .await?
                .jobs
                .is_empty()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Returns once no job is queued or running (no new job must be arriving).
    pub async fn wait_until_drained(&self, deadline: Duration) -> Result<()> {
        let start = Instant::now();
        while self.any_unfinished().await? {
            ensure!(
                start.elapsed() < deadline,
                "jobs still unfinished after {deadline:?}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Ok(())
    }

    /// Follows `job`'s event stream to its end: `opened` is sent the first event;
    /// returns the events received (the last one final, or an error).
    pub async fn follow(&self, job: i64, opened: tokio::sync::mpsc::Sender<()>) -> Result<usize> {
        let mut response = self
            .http
            .get(format!("{}/batch/{job}/events", self.base))
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "GET /batch/{job}/events: {}",
            response.status()
        );
        let (mut text, mut events) = (String::new(), 0);
        while let Some(bytes) = response.chunk().await? {
            text.push_str(&String::from_utf8_lossy(&bytes));
            let seen = text.matches("\nevent: ").count() + usize::from(text.starts_with("event: "));
            if events == 0 && seen > 0 {
                let _ = opened.send(()).await;
            }
            events = seen;
        }
        ensure!(
            text.contains("event: completed"),
            "job {job}'s stream ended without its final event"
        );
        Ok(events)
    }

    /// Every job of the tenant (status objects without results), newest first.
    pub async fn all_jobs(&self) -> Result<Vec<JobStatus>> {
        let mut jobs = Vec::new();
        let mut query = "limit=200".to_owned();
        loop {
            let page = self.list(&query).await?;
            jobs.extend(page.jobs);
            match page.next {
                Some(after) => query = format!("limit=200&after={after}"),
                None => return Ok(jobs),
            }
        }
    }
}

/// Checks that exactly the `submitted` jobs (id → items) exist and are in `state`;
/// when completed, that every item was processed and none failed.
pub fn verify_jobs(
    jobs: &[JobStatus],
    submitted: &BTreeMap<i64, u32>,
    state: JobState,
) -> Result<()> {
    ensure!(
        jobs.len() == submitted.len(),
        "{} jobs submitted but {} listed",
        submitted.len(),
        jobs.len()
    );
    for job in jobs {
        let Some(&items) = submitted.get(&job.job_id) else {
            bail!("job {} was listed but never submitted", job.job_id);
        };
        ensure!(
            job.status == state,
            "job {} is {} (expected {state}){}",
            job.job_id,
            job.status,
            job.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
        ensure!(
            job.item_count == items,
            "job {}: itemCount {} but {items} items were submitted",
            job.job_id,
            job.item_count
        );
        if state == JobState::Completed {
            ensure!(
                job.total_count == job.item_count
                    && job.error_count == 0
                    && job.finished_count == job.item_count,
                "job {}: totalCount {}, finishedCount {}, errorCount {}, itemCount {}",
                job.job_id,
                job.total_count,
                job.finished_count,
                job.error_count,
                job.item_count
            );
        }
    }
    Ok(())
}

/// The JSON answer of a successful call, or an error quoting the server's.
async fn json<T: DeserializeOwned>(response: reqwest::Response, call: &str) -> Result<T> {
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("{call} answered {status}: {body}");
    }
    response
        .json()
        .await
        .with_context(|| format!("{call}: unexpected answer"))
}
