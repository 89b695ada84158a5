//! The jobs list (with its throughput chart) and a job's page.

use super::{eta, layout, progress_bar, rate, url_encode, when};
use maud::{Markup, html};
use serde_json::Value;
use store::JobRecord;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

pub struct JobsView<'a> {
    pub tenant: &'a str,
    pub csrf: &'a str,
    pub jobs: &'a [JobRecord],
    pub status: Option<JobState>,
    pub batch_type: Option<BatchType>,
    pub next: Option<i64>,
    pub now: OffsetDateTime,
    /// Items processed in each of the last 60 minutes, oldest first.
    pub per_minute: &'a [u64],
}

/// Bars of items processed per minute (oldest left), drawn by the server.
pub fn chart(per_minute: &[u64]) -> Markup {
    const W: u64 = 600;
    const H: u64 = 120;
    let n = per_minute.len().max(1) as u64;
    let max = per_minute.iter().copied().max().unwrap_or(0).max(1);
    let total: u64 = per_minute.iter().sum();
    let bar = W / n;
    let label = format!(
        "Items processed per minute over the last hour: {total} in all, at most {max} in a minute"
    );
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (W) " " (H + 16) } role="img" aria-label=(label) {
                title { (label) }
                line x1="0" y1=(H) x2=(W) y2=(H) stroke="#98a2b3" {}
                @for (i, count) in per_minute.iter().enumerate() {
                    @let h = count * H / max;
                    @let ago = per_minute.len() - i - 1;
                    rect x=(i as u64 * bar + 1) y=(H - h) width=(bar.saturating_sub(2).max(1)) height=(h) fill="#175cd3" {
                        title { (count) " items, " (ago) " min ago" }
                    }
                }
                text x="0" y=(H + 14) font-size="11" fill="#475467" { "60 min ago" }
                text x=(W) y=(H + 14) font-size="11" fill="#475467" text-anchor="end" { "now" }
                text x="2" y="11" font-size="11" fill="#475467" { (max) "/min" }
            }
            figcaption { "Items processed per minute, last hour: " (total) " in all." }
        }
    }
}

const STATES: [JobState; 5] = [
    JobState::Queued,
    JobState::Running,
    JobState::Completed,
    JobState::Failed,
    JobState::Stopped,
];

pub fn jobs(v: &JobsView<'_>) -> Markup {
    let body = html! {
        h1 { "Jobs" }
        (chart(v.per_minute))
        form.filters method="get" action="/console/jobs" {
            label for="status" { "Status" }
            select #status name="status" {
                option value="" { "any" }
                @for s in STATES {
                    option value=(s.as_str()) selected[v.status == Some(s)] { (s.as_str()) }
                }
            }
            label for="type" { "Type" }
            select #type name="type" {
                option value="" { "any" }
                @for t in BatchType::ALL {
                    option value=(t.as_str()) selected[v.batch_type == Some(t)] { (t.as_str()) }
                }
            }
            button type="submit" { "Filter" }
        }
        @if v.jobs.is_empty() {
            p { "No jobs." }
        } @else {
            div.scroll {
                table.jobs {
                    thead { tr {
                        th { "Job" } th { "Type" } th { "Status" } th { "Progress" }
                        th { "Succeeded" } th { "Failed" } th { "Remaining" }
                        th { "Created (UTC)" } th { "Started" } th { "Finished" } th { "Rate" }
                    } }
                    tbody {
                        @for j in v.jobs {
                            tr data-progress-url=[(!j.state.is_final()).then(|| format!("/console/jobs/{}/progress", j.id))] {
                                td { a href={ "/console/jobs/" (j.id) } { (j.id) } }
                                td { (j.batch_type.as_str()) }
                                td { span class={ "status " (j.state.as_str()) } data-field="status" { (j.state.as_str()) } }
                                td { (progress_bar(j)) }
                                td data-field="succeeded" { (j.finished_count) }
                                td data-field="failed" { (j.error_count) }
                                td data-field="remaining" { (j.unprocessed()) }
                                td { (when(Some(j.created_at))) }
                                td { (when(j.started_at)) }
                                td { (when(j.finished_at)) }
                                td data-field="rate" { (rate(j, v.now).map(|r| format!("{r:.0}/s")).unwrap_or_else(|| "—".to_owned())) }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = v.next {
                p { a href={ "/console/jobs?after=" (next)
                    @if let Some(s) = v.status { "&status=" (s.as_str()) }
                    @if let Some(t) = v.batch_type { "&type=" (t.as_str()) } } { "Older jobs →" } }
            }
        }
    };
    layout("Jobs", Some((v.tenant, v.csrf)), body)
}

pub struct JobView<'a> {
    pub tenant: &'a str,
    pub csrf: &'a str,
    pub job: &'a JobRecord,
    pub now: OffsetDateTime,
    pub search: &'a str,
    pub failures: Vec<Value>,
    pub failures_total: usize,
    pub failed_page: usize,
    pub successes: Vec<Value>,
    pub successes_total: usize,
    pub ok_page: usize,
    pub per_page: usize,
    pub notice: Option<&'static str>,
}

/// The sentence a redirect's `notice` stands for.
pub fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "stopped" => "The job was stopped: no further item of it takes effect.",
        "already-finished" => "The job had already finished; nothing was stopped.",
        "retried" => "This job holds the failed items of the job it retries.",
        "not-finished" => "A job's failed items can be retried once it has finished.",
        "nothing-failed" => "No item of this job failed: there is nothing to retry.",
        "items-gone" => "The failed items of this job are no longer kept.",
        _ => return None,
    })
}

fn pager(
    base: &str,
    param: &str,
    page: usize,
    total: usize,
    per_page: usize,
    keep: &str,
) -> Markup {
    let pages = total.div_ceil(per_page.max(1));
    html! {
        @if pages > 1 {
            nav.pager aria-label="pages" {
                @if page > 0 {
                    a href={ (base) "?" (param) "=" (page - 1) (keep) } { "← Previous" }
                }
                span { "Page " (page + 1) " of " (pages) }
                @if page + 1 < pages {
                    a href={ (base) "?" (param) "=" (page + 1) (keep) } { "Next →" }
                }
            }
        }
    }
}

fn key_of(e: &Value) -> String {
    ["customerId", "transactionId", "orderId"]
        .iter()
        .filter_map(|k| e[*k].as_str().map(|v| format!("{k} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn job(v: &JobView<'_>) -> Markup {
    let j = v.job;
    let base = format!("/console/jobs/{}", j.id);
    let keep_search = if v.search.is_empty() {
        String::new()
    } else {
        format!("&q={}", url_encode(v.search))
    };
    let live = !j.state.is_final();
    let body = html! {
        h1 { "Job " (j.id) " " span class={ "status " (j.state.as_str()) } data-field="status" { (j.state.as_str()) } }
        @if let Some(n) = v.notice {
            p.notice role="status" { (n) }
        }
        section.summary data-progress-url=[live.then(|| format!("{base}/progress"))] data-events-url=[live.then(|| format!("{base}/events"))] data-page="job" {
            (progress_bar(j))
            dl {
                dt { "Type" } dd { (j.batch_type.as_str()) }
                dt { "Items" } dd { (j.item_count) }
                dt { "Succeeded" } dd data-field="succeeded" { (j.finished_count) }
                dt { "Failed" } dd data-field="failed" { (j.error_count) }
                dt { "Remaining" } dd data-field="remaining" { (j.unprocessed()) }
                dt { "Rate" } dd data-field="rate" { (rate(j, v.now).map(|r| format!("{r:.0}/s")).unwrap_or_else(|| "—".to_owned())) }
                dt { "ETA" } dd data-field="eta" { (eta(j, rate(j, v.now))) }
                dt { "Created (UTC)" } dd { (when(Some(j.created_at))) }
                dt { "Started" } dd { (when(j.started_at)) }
                dt { "Finished" } dd { (when(j.finished_at)) }
                @if let Some(e) = &j.error { dt { "Error" } dd { (e) } }
            }
        }
        @if live {
            p.notice #ended hidden { "The job has ended. " a href=(base) { "Show its results" } }
        }
        div.actions {
            @if live {
                form method="post" action={ (base) "/stop" } data-while-running="yes" data-confirm={ "Stop job " (j.id) "? Its remaining items will not run." } {
                    input type="hidden" name="csrf" value=(v.csrf);
                    button.danger type="submit" { "Stop" }
                }
            }
            @if j.state.is_final() && j.error_count > 0 {
                form method="post" action={ (base) "/retry" } {
                    input type="hidden" name="csrf" value=(v.csrf);
                    button type="submit" { "Retry failed items" }
                }
                a.button href={ (base) "/failed.csv" } download { "Download failed items (CSV)" }
                a.button href={ (base) "/failed.ndjson" } download { "Download failed items (NDJSON)" }
            }
        }
        h2 #failed { "Failed items (" (v.failures_total) ")" }
        form.search method="get" action=(base) {
            label for="q" { "Search by key or code" }
            input #q type="search" name="q" value=(v.search) placeholder="customer id, transaction id or code";
            button type="submit" { "Search" }
        }
        @if v.failures.is_empty() {
            p { "None." }
        } @else {
            div.scroll {
                table.failures {
                    thead { tr { th { "Index" } th { "Key" } th { "Code" } th { "Message" } } }
                    tbody {
                        @for e in &v.failures {
                            tr {
                                td { (e["index"]) }
                                td { (key_of(e)) }
                                td.code { (e["code"]) }
                                td { (e["message"].as_str().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            (pager(&base, "failed_page", v.failed_page, v.failures_total, v.per_page, &keep_search))
        }
        h2 #succeeded { "Successful items (" (v.successes_total) ")" }
        @if v.successes.is_empty() {
            p { "None." }
        } @else {
            div.scroll {
                table.successes {
                    thead { tr { th { "Index" } th { "Key" } th { "Result" } } }
                    tbody {
                        @for e in &v.successes {
                            tr {
                                td { (e["index"]) }
                                td { (key_of(e)) }
                                td { (e["message"].as_str().map(str::to_owned).unwrap_or_else(|| e.to_string())) }
                            }
                        }
                    }
                }
            }
            (pager(&base, "ok_page", v.ok_page, v.successes_total, v.per_page, ""))
        }
    };
    layout(&format!("Job {}", j.id), Some((v.tenant, v.csrf)), body)
}
