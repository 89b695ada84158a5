//! The console's pages (maud): readable without JavaScript; the script only
//! refreshes the counts of running jobs and asks before a stop.

mod customers;
mod jobs;
mod settings;

pub use customers::{CustomerPage, customer, customer_search};
pub use jobs::{JobView, JobsView, job, jobs, notice};
pub use settings::{SettingsForm, settings};

use maud::{DOCTYPE, Markup, html};
use store::JobRecord;
use time::OffsetDateTime;

pub(crate) fn layout(title: &str, signed_in: Option<(&str, &str)>, body: Markup) -> Markup {
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
pub(crate) fn when(t: Option<OffsetDateTime>) -> String {
    const SHOWN: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.and_then(|t| t.to_offset(time::UtcOffset::UTC).format(SHOWN).ok())
        .unwrap_or_else(|| "—".to_owned())
}

/// Items per second since the job started (to its end, or now).
pub(crate) fn rate(job: &JobRecord, now: OffsetDateTime) -> Option<f64> {
    let start = job.started_at?;
    let end = job.finished_at.unwrap_or(now);
    let secs = (end - start).as_seconds_f64();
    (secs > 0.0 && job.processed > 0).then(|| f64::from(job.processed) / secs)
}

pub(crate) fn percent(job: &JobRecord) -> u32 {
    if job.item_count == 0 {
        return 100;
    }
    u32::try_from(u64::from(job.processed) * 100 / u64::from(job.item_count)).unwrap_or(100)
}

pub(crate) fn eta(job: &JobRecord, rate: Option<f64>) -> String {
    let remaining = job.unprocessed();
    if job.state.is_final() || remaining == 0 {
        return "—".to_owned();
    }
    match rate {
        Some(r) if r > 0.0 => format!("~{:.0} s", f64::from(remaining) / r),
        _ => "—".to_owned(),
    }
}

pub(crate) fn progress_bar(job: &JobRecord) -> Markup {
    html! {
        progress max="100" value=(percent(job)) data-field="percent" aria-label="progress" { (percent(job)) "%" }
    }
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
        assert!(
            notice("queue-full").is_none(),
            "a full queue answers a 429 page"
        );
        assert!(notice("stopped").is_some());
        assert!(notice("<script>").is_none());
    }
}
