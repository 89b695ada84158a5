//! The customer search and a customer's page.

use super::{layout, url_encode};
use maud::{Markup, html};
use serde_json::Value;

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
