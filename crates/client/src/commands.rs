//! `loyalbatch status|stop|wait|jobs`: thin commands over the API, human output by default, JSON for scripts.

use crate::api::Api;
use anyhow::Result;
use time::format_description::well_known::Rfc3339;
use wire::{BatchType, JobState, JobStatus};

fn when(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "—".into())
}

/// One job in a few human lines.
pub fn describe(s: &JobStatus) -> String {
    let mut out = format!(
        "job {} ({}): {}\n  items {}: {} processed ({} succeeded, {} failed), {} left\n  created {}, started {}, finished {}",
        s.job_id,
        s.batch_type,
        s.status,
        s.item_count,
        s.total_count,
        s.finished_count,
        s.error_count,
        s.unprocessed_count,
        when(Some(s.created_at)),
        when(s.started_at),
        when(s.finished_at)
    );
    if let Some(e) = &s.error {
        out.push_str(&format!("\n  error: {e}"));
    }
    out
}

pub async fn status(api: &Api, job: i64, json: bool) -> Result<()> {
    let s = api.status(job).await?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!("{}", describe(&s));
    }
    Ok(())
}

pub async fn stop(api: &Api, job: i64, json: bool) -> Result<()> {
    let stopped = api.stop(job).await?;
    if json {
        println!("{}", serde_json::to_string(&stopped)?);
    } else {
        println!("job {}: {}", stopped.job_id, stopped.message);
    }
    Ok(())
}

/// Waits for the job to end; `true` when it completed with no failed item.
pub async fn wait(api: &Api, job: i64, json: bool) -> Result<bool> {
    let s = api.wait(job, |_| {}).await?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!("{}", describe(&s));
    }
    Ok(s.status == JobState::Completed && s.error_count == 0)
}

pub async fn jobs(
    api: &Api,
    state: Option<JobState>,
    batch_type: Option<BatchType>,
    limit: u32,
    json: bool,
) -> Result<()> {
    let page = api.jobs(state, batch_type, limit, None).await?;
    if json {
        println!("{}", serde_json::to_string(&page)?);
        return Ok(());
    }
    println!(
        "{:>8}  {:<20} {:<10} {:>7} {:>9} {:>9} {:>7}  created",
        "job", "type", "status", "items", "processed", "succeeded", "failed"
    );
    for j in &page.jobs {
        println!(
            "{:>8}  {:<20} {:<10} {:>7} {:>9} {:>9} {:>7}  {}",
            j.job_id,
            j.batch_type.as_str(),
            j.status.as_str(),
            j.item_count,
            j.total_count,
            j.finished_count,
            j.error_count,
            when(Some(j.created_at))
        );
    }
    if let Some(next) = page.next {
        println!("(more: older than job {next})");
    }
    Ok(())
}
