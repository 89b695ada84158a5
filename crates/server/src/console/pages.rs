//! The console's pages (maud): readable without JavaScript; the script only
//! refreshes the counts of running jobs and asks before a stop.

use maud::{DOCTYPE, Markup, html};
use serde_json::{Value, json};
use store::JobRecord;
use time::OffsetDateTime;
use wire::{BatchType, JobState};

fn layout(title: &str, signed_in: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — loyalbatch console" }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/console/jobs" { "loyalbatch" }
                    @if let Some((tenant, csrf)) = signed_in {
                        nav {
                            a href="/console/jobs" { "Jobs" }
                        }
                        span.tenant { "Tenant " strong { (tenant) } }
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn message(title: &str, text: &str) -> Markup {
    layout(
        title,
        None,
        html! { h1 { (title) } p { (text) } p { a href="/console/jobs" { "Back to the jobs" } } },
    )
}

pub fn login(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Log in",
        None,
        html! {
            h1 { "Log in" }
            p { "Sign in with the tenant's keys; the console shows that tenant's jobs only." }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            form.login method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="apikey" { "apikey" }
                input #apikey type="text" name="apikey" autocomplete="username" required autofocus;
                label for="secretkey" { "secretkey" }
                input #secretkey type="password" name="secretkey" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    )
}

fn when(t: Option<OffsetDateTime>) -> String {
    t.map(wire::instant::format)
        .unwrap_or_else(|| "—".to_owned())
}

/// Items per second since the job started (to its end, or now).
fn rate(job: &JobRecord, now: OffsetDateTime) -> Option<f64> {
    let start = job.started_at?;
    let end = job.finished_at.unwrap_or(now);
    let secs = (end - start).as_seconds_f64();
    (secs > 0.0 && job.processed > 0).then(|| f64::from(job.processed) / secs)
}

fn percent(job: &JobRecord) -> u32 {
    if job.item_count == 0 {
        return 100;
    }
    u32::try_from(u64::from(job.processed) * 100 / u64::from(job.item_count)).unwrap_or(100)
}

/// What the script reads while a job runs.
pub fn progress_json(job: &JobRecord, now: OffsetDateTime) -> Value {
    let remaining = job.item_count.saturating_sub(job.processed);
    let rate = rate(job, now);
    json!({
        "jobId": job.id,
        "status": job.state.as_str(),
        "final": job.state.is_final(),
        "processed": job.processed,
        "itemCount": job.item_count,
        "succeeded": job.finished_count,
        "failed": job.error_count,
        "remaining": remaining,
        "percent": percent(job),
        "rate": rate.map(|r| format!("{r:.0}/s")).unwrap_or_else(|| "—".to_owned()),
        "eta": eta(job, rate),
    })
}

fn eta(job: &JobRecord, rate: Option<f64>) -> String {
    let remaining = job.item_count.saturating_sub(job.processed);
    if job.state.is_final() || remaining == 0 {
        return "—".to_owned();
    }
    match rate {
        Some(r) if r > 0.0 => format!("~{:.0} s", f64::from(remaining) / r),
        _ => "—".to_owned(),
    }
}

fn progress_bar(job: &JobRecord) -> Markup {
    html! {
        progress max="100" value=(percent(job)) data-field="percent" aria-label="progress" { (percent(job)) "%" }
    }
}

pub struct JobsView<'a> {
    pub tenant: &'a str,
    pub csrf: &'a str,
    pub jobs: &'a [JobRecord],
    pub status: Option<JobState>,
    pub batch_type: Option<BatchType>,
    pub next: Option<i64>,
    pub now: OffsetDateTime,
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
                        th { "Created" } th { "Started" } th { "Finished" } th { "Rate" }
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
                                td data-field="remaining" { (j.item_count.saturating_sub(j.processed)) }
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
        "queue-full" => "The tenant's queue is full; retry later.",
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
        section.summary data-progress-url=[live.then(|| format!("{base}/progress"))] data-reload-when-final=[live.then_some("yes")] {
            (progress_bar(j))
            dl {
                dt { "Type" } dd { (j.batch_type.as_str()) }
                dt { "Items" } dd { (j.item_count) }
                dt { "Succeeded" } dd data-field="succeeded" { (j.finished_count) }
                dt { "Failed" } dd data-field="failed" { (j.error_count) }
                dt { "Remaining" } dd data-field="remaining" { (j.item_count.saturating_sub(j.processed)) }
                dt { "Rate" } dd data-field="rate" { (rate(j, v.now).map(|r| format!("{r:.0}/s")).unwrap_or_else(|| "—".to_owned())) }
                dt { "ETA" } dd data-field="eta" { (eta(j, rate(j, v.now))) }
                dt { "Created" } dd { (when(Some(j.created_at))) }
                dt { "Started" } dd { (when(j.started_at)) }
                dt { "Finished" } dd { (when(j.finished_at)) }
                @if let Some(e) = &j.error { dt { "Error" } dd { (e) } }
            }
        }
        div.actions {
            @if live {
                form method="post" action={ (base) "/stop" } data-confirm={ "Stop job " (j.id) "? Its remaining items will not run." } {
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

/// Percent-encodes a query value (all but unreserved characters).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(url_encode("cust-42_x.y~"), "cust-42_x.y~");
    }

    #[test]
    fn notices_are_known_codes_only() {
        assert!(notice("stopped").is_some());
        assert!(notice("<script>").is_none());
    }
}
