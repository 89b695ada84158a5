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
                            " "
                            a href="/console/customers" { "Customers" }
                            " "
                            a href="/console/settings" { "Settings" }
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

/// An instant as the pages show it: `2026-11-29 23:58:42` (UTC).
fn when(t: Option<OffsetDateTime>) -> String {
    const SHOWN: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.and_then(|t| t.to_offset(time::UtcOffset::UTC).format(SHOWN).ok())
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
        section.summary data-progress-url=[live.then(|| format!("{base}/progress"))] data-events-url=[live.then(|| format!("{base}/events"))] data-page="job" {
            (progress_bar(j))
            dl {
                dt { "Type" } dd { (j.batch_type.as_str()) }
                dt { "Items" } dd { (j.item_count) }
                dt { "Succeeded" } dd data-field="succeeded" { (j.finished_count) }
                dt { "Failed" } dd data-field="failed" { (j.error_count) }
                dt { "Remaining" } dd data-field="remaining" { (j.item_count.saturating_sub(j.processed)) }
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

/// Percent-encodes a query value (all but unreserved characters).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub struct CustomerPage<'a> {
    pub tenant: &'a str,
    pub csrf: &'a str,
    pub customer_id: &'a str,
    pub gameball_id: i64,
    pub profile: &'a serde_json::Map<String, Value>,
    pub balance: &'a wire::BalanceView,
    pub movements: &'a [wire::TransactionView],
    pub next: Option<i64>,
}

pub fn customer_search(tenant: &str, csrf: &str, q: &str, missing: bool) -> Markup {
    let body = html! {
        h1 { "Customers" }
        (search_box(q))
        @if missing {
            p.error role="alert" { "No customer has the id “" (q) "”." }
        }
    };
    layout("Customers", Some((tenant, csrf)), body)
}

fn search_box(q: &str) -> Markup {
    html! {
        form.search method="get" action="/console/customers" {
            label for="customer" { "Customer id" }
            input #customer type="search" name="q" value=(q) required;
            button type="submit" { "Open" }
        }
    }
}

pub fn customer(v: &CustomerPage<'_>) -> Markup {
    let b = v.balance;
    let base = format!("/console/customers/{}", url_encode(v.customer_id));
    let body = html! {
        (search_box(""))
        h1 { "Customer " (v.customer_id) }
        section.summary {
            h2 { "Balance" }
            dl {
                dt { "Available" } dd { (b.available_points_balance) " " (b.points_name) " (" (b.available_points_value) " " (b.currency) ")" }
                dt { "Total" } dd { (b.total_points_balance) }
                dt { "Pending" } dd { (b.pending_points) }
                dt { "Earned in total" } dd { (b.total_earned_points) }
                dt { "Next to expire" } dd { (b.next_expiring_points_amount) " " (b.next_expiring_points_date.as_deref().unwrap_or("—")) }
            }
            h2 { "Profile" }
            dl {
                dt { "gameballId" } dd { (v.gameball_id) }
                @for (k, val) in v.profile {
                    dt { (k) } dd { (val.as_str().map(str::to_owned).unwrap_or_else(|| val.to_string())) }
                }
            }
        }
        h2 { "Movements" }
        @if v.movements.is_empty() {
            p { "None." }
        } @else {
            div.scroll {
                table.movements {
                    thead { tr {
                        th { "Id" } th { "Type" } th { "Points" } th { "Amount" }
                        th { "Transaction" } th { "Order" } th { "Time" }
                    } }
                    tbody {
                        @for m in v.movements {
                            tr {
                                td { (m.gameball_transaction_id) }
                                td { (m.kind) }
                                td.code { (m.points) }
                                td { (m.amount.map(|a| a.to_string()).unwrap_or_default()) }
                                td { (m.transaction_id.as_deref().unwrap_or("")) }
                                td { (m.order_id.as_deref().unwrap_or("")) }
                                td { (m.transaction_time) }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = v.next {
                p { a href={ (base) "?before=" (next) } { "Older movements →" } }
            }
        }
    };
    layout(
        &format!("Customer {}", v.customer_id),
        Some((v.tenant, v.csrf)),
        body,
    )
}

/// The settings form's values as text (what was submitted, or what is stored).
pub struct SettingsForm {
    pub reward_wallet_factor: String,
    pub amount_reward_threshold: String,
    pub redemption_factor: String,
    pub currency: String,
    pub points_name: String,
    pub return_window_days: String,
    pub points_expiry_days: String,
    pub hold_expiry_minutes: String,
    pub high_security: bool,
    pub event_rewards: String,
}

impl SettingsForm {
    pub fn of(s: &domain::settings::ProgramSettings) -> SettingsForm {
        SettingsForm {
            reward_wallet_factor: s.reward_wallet_factor.to_string(),
            amount_reward_threshold: s.amount_reward_threshold.to_string(),
            redemption_factor: s.redemption_factor.to_string(),
            currency: s.currency.clone(),
            points_name: s.points_name.clone(),
            return_window_days: s.return_window_days.to_string(),
            points_expiry_days: s
                .points_expiry_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            hold_expiry_minutes: s.hold_expiry_minutes.to_string(),
            high_security: s.high_security,
            event_rewards: s
                .event_rewards
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

pub fn settings(
    tenant: &str,
    csrf: &str,
    f: &SettingsForm,
    error: Option<&str>,
    saved: bool,
) -> Markup {
    let field = |name: &str, label: &str, value: &str, help: &str| {
        html! {
            label for=(name) { (label) }
            input id=(name) type="text" name=(name) value=(value);
            small { (help) }
        }
    };
    let body = html! {
        h1 { "Program settings" }
        @if saved { p.notice role="status" { "Saved." } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form.settings method="post" action="/console/settings" {
            input type="hidden" name="csrf" value=(csrf);
            (field("rewardWalletFactor", "rewardWalletFactor", &f.reward_wallet_factor, "points earned per amountRewardThreshold of money"))
            (field("amountRewardThreshold", "amountRewardThreshold", &f.amount_reward_threshold, "money spent per rewardWalletFactor points"))
            (field("redemptionFactor", "redemptionFactor", &f.redemption_factor, "money value of one point"))
            (field("currency", "currency", &f.currency, "3-letter ISO code"))
            (field("pointsName", "pointsName", &f.points_name, "what points are called"))
            (field("returnWindowDays", "returnWindowDays", &f.return_window_days, "days earned points stay pending"))
            (field("pointsExpiryDays", "pointsExpiryDays", &f.points_expiry_days, "days points stay spendable; empty: never expire"))
            (field("holdExpiryMinutes", "holdExpiryMinutes", &f.hold_expiry_minutes, "minutes a hold reserves points"))
            label.check {
                input type="checkbox" name="highSecurity" value="on" checked[f.high_security];
                " highSecurity (every call needs the secret key)"
            }
            label for="eventRewards" { "Event rewards" }
            textarea #eventRewards name="eventRewards" rows="5" { (f.event_rewards) }
            small { "one EVENT=POINTS per line: points credited each time a customer sends the event" }
            button type="submit" { "Save" }
        }
    };
    layout("Settings", Some((tenant, csrf)), body)
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
