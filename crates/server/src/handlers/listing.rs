//! `GET /transactions` and `GET /transactions/count`: a tenant's (or one
//! customer's) movements, filtered by type, direction and time, paged by id.

use crate::AppState;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use domain::fields::{parse_timestamp, rfc3339};
use domain::movement::MovementKind;
use serde::Deserialize;
use store::{ListedMovement, MovementFilter};
use wire::{ErrorCode, TransactionCount, TransactionList, TransactionView};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransactionQuery {
    pub customer_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub direction: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub transaction_id: Option<String>,
    pub start_after: Option<String>,
    pub limit: Option<String>,
}

/// The transaction types, each with the stored kinds it covers and its direction.
const TYPES: &[(&str, &[MovementKind], Option<bool>)] = &[
    (
        "PaymentReward",
        &[MovementKind::Cashback, MovementKind::Order],
        None,
    ),
    ("Redemption", &[MovementKind::Redemption], None),
    (
        "Refund",
        &[MovementKind::Refund, MovementKind::RefundRestore],
        None,
    ),
    ("AchievementReward", &[MovementKind::EventReward], None),
    ("ManualAccumulation", &[MovementKind::Manual], Some(true)),
    ("ManualDeduction", &[MovementKind::Manual], Some(false)),
    ("Hold", &[MovementKind::Hold], None),
    ("HoldRelease", &[MovementKind::HoldRelease], None),
];

/// Every transaction type, as the `type` filter takes it.
pub const TYPE_NAMES: [&str; 8] = [
    "PaymentReward",
    "Redemption",
    "Refund",
    "AchievementReward",
    "ManualAccumulation",
    "ManualDeduction",
    "Hold",
    "HoldRelease",
];

/// The type a movement is listed as.
pub fn type_name(kind: &str, points: i64) -> &'static str {
    match MovementKind::parse(kind) {
        Some(MovementKind::Manual) if points < 0 => "ManualDeduction",
        Some(MovementKind::Manual) => "ManualAccumulation",
        Some(k) => TYPES
            .iter()
            .find(|(_, kinds, _)| kinds.contains(&k))
            .map_or("Other", |(name, _, _)| name),
        None => "Other",
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidValue, message)
}

fn instant(name: &str, value: Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            // An offset's `+` sent unencoded arrives as a space (the Python SDK).
            let v = v.replace(' ', "+");
            parse_timestamp(&v)
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
                .ok_or_else(|| invalid(format!("{name}: not a timestamp (RFC 3339)")))
        })
        .transpose()
}

pub fn filter(q: TransactionQuery, paged: bool) -> Result<Option<MovementFilter>, ApiError> {
    let mut f = MovementFilter {
        customer_id: q.customer_id.filter(|c| !c.is_empty()),
        from: instant("from", q.from)?,
        to: instant("to", q.to)?,
        transaction_id: q.transaction_id.filter(|t| !t.is_empty()),
        limit: DEFAULT_LIMIT,
        ..MovementFilter::default()
    };
    // `+` unencoded in a query string arrives as a space.
    f.credit = match q.direction.as_deref() {
        None | Some("") => None,
        Some(d) => match d.trim() {
            // A lone space: a `+` sent unencoded (the Python SDK does).
            "+" | "" => Some(true),
            "-" => Some(false),
            other => return Err(invalid(format!("direction: must be + or -, not '{other}'"))),
        },
    };
    if let Some(name) = q.kind.filter(|k| !k.is_empty()) {
        let (_, kinds, credit) = TYPES.iter().find(|(n, _, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = TYPES.iter().map(|(n, _, _)| *n).collect();
            invalid(format!("type: must be one of {}", names.join(", ")))
        })?;
        f.kinds = Some(kinds.iter().map(|k| k.as_str()).collect());
        match (f.credit, credit) {
            // ManualDeduction with direction=+: nothing can match.
            (Some(a), Some(b)) if a != *b => return Ok(None),
            (None, Some(b)) => f.credit = Some(*b),
            _ => {}
        }
    }
    if paged {
        f.after = q
            .start_after
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| invalid("startAfter: must be a gameballTransactionId".into()))
            })
            .transpose()?;
        if let Some(limit) = q.limit.filter(|s| !s.is_empty()) {
            f.limit = limit
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    invalid(format!(
                        "limit: must be a whole number from 1 to {MAX_LIMIT}"
                    ))
                })?;
        }
    }
    Ok(Some(f))
}

pub fn view(m: ListedMovement) -> TransactionView {
    TransactionView {
        gameball_transaction_id: m.id,
        kind: type_name(&m.kind, m.points),
        direction: if m.points < 0 { "-" } else { "+" },
        customer_id: m.customer_id,
        points: m.points,
        amount: m
            .amount
            .and_then(|a| a.parse::<rust_decimal::Decimal>().ok())
            .map(|a| a.normalize()),
        transaction_time: rfc3339(m.transaction_time),
        created_at: rfc3339(m.created_at),
        transaction_id: m.transaction_id,
        order_id: m.order_id,
        hold_reference: m.hold_reference,
        reverse_transaction_id: m.reverses,
    }
}

pub async fn list(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Query(q): Query<TransactionQuery>,
) -> Result<Json<TransactionList>, ApiError> {
    let Some(mut f) = filter(q, true)? else {
        return Ok(Json(TransactionList {
            transactions: Vec::new(),
            has_more: false,
            next: None,
        }));
    };
    let limit = f.limit as usize;
    f.limit = f.limit.saturating_add(1);
    let mut rows = app.store.list_movements(tenant.id, &f).await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next = if has_more {
        rows.last().map(|m| m.id)
    } else {
        None
    };
    Ok(Json(TransactionList {
        transactions: rows.into_iter().map(view).collect(),
        has_more,
        next,
    }))
}

/// The query of `GET /customers/{customerId}/transactions`.
#[derive(Deserialize, Default)]
pub struct HistoryQuery {
    pub limit: Option<String>,
    pub before: Option<String>,
}

/// `GET /customers/{customerId}/transactions`: one customer's movements, newest
/// first, paged by `before` (the `next` of the previous page).
pub async fn customer_history(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Path(customer_id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<TransactionList>, ApiError> {
    let (limit, before) = super::page(
        q.limit,
        ("before", q.before, "a gameballTransactionId"),
        DEFAULT_LIMIT,
        MAX_LIMIT,
    )?;
    if app.store.customer(tenant.id, &customer_id).await?.is_none() {
        return Err(super::customers::customer_not_found(&customer_id));
    }
    let f = MovementFilter {
        customer_id: Some(customer_id),
        after: before,
        limit: limit.saturating_add(1),
        newest_first: true,
        ..MovementFilter::default()
    };
    let mut rows = app.store.list_movements(tenant.id, &f).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if has_more {
        rows.last().map(|m| m.id)
    } else {
        None
    };
    Ok(Json(TransactionList {
        transactions: rows.into_iter().map(view).collect(),
        has_more,
        next,
    }))
}

pub async fn count(
    State(app): State<AppState>,
    SecretCaller(tenant): SecretCaller,
    Query(q): Query<TransactionQuery>,
) -> Result<Json<TransactionCount>, ApiError> {
    let count = match filter(q, false)? {
        Some(f) => app.store.count_movements(tenant.id, &f).await?,
        None => 0,
    };
    Ok(Json(TransactionCount { count }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> TransactionQuery {
        let text = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        serde_urlencoded_like(&text)
    }

    fn serde_urlencoded_like(text: &str) -> TransactionQuery {
        axum::extract::Query::<TransactionQuery>::try_from_uri(
            &format!("/t?{text}").parse().unwrap(),
        )
        .unwrap()
        .0
    }

    #[test]
    fn every_type_name_is_listed() {
        let names: Vec<&str> = TYPES.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, TYPE_NAMES);
    }

    #[test]
    fn types_name_their_kinds_and_manual_ones_their_direction() {
        assert_eq!(type_name("cashback", 5), "PaymentReward");
        assert_eq!(type_name("order", 5), "PaymentReward");
        assert_eq!(type_name("manual", -5), "ManualDeduction");
        assert_eq!(type_name("refund_restore", 5), "Refund");
        let f = filter(query(&[("type", "ManualDeduction")]), true)
            .unwrap()
            .unwrap();
        assert_eq!((f.kinds, f.credit), (Some(vec!["manual"]), Some(false)));
        assert_eq!(
            filter(
                query(&[("type", "ManualDeduction"), ("direction", "%2B")]),
                true
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn direction_reads_an_unencoded_plus_and_bounds_are_checked() {
        let plus = filter(query(&[("direction", "+")]), true).unwrap().unwrap();
        assert_eq!(plus.credit, Some(true));
        let minus = filter(query(&[("direction", "-")]), true).unwrap().unwrap();
        assert_eq!(minus.credit, Some(false));
        assert!(filter(query(&[("direction", "x")]), true).is_err());
        assert!(filter(query(&[("limit", "201")]), true).is_err());
        assert!(filter(query(&[("from", "yesterday")]), true).is_err());
        let offset = filter(query(&[("from", "2025-01-01T02:00:00+02:00")]), true)
            .unwrap()
            .unwrap();
        assert_eq!(offset.from, Some(1_735_689_600_000));
        let paged = filter(query(&[("startAfter", "7"), ("limit", "3")]), true)
            .unwrap()
            .unwrap();
        assert_eq!((paged.after, paged.limit), (Some(7), 3));
    }
}
