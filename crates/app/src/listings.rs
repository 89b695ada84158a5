//! `GET /transactions` and its count, and v3's numbered pages of it: a
//! tenant's (or one customer's) movements, filtered by type, direction and
//! time, as the listings show them.

use crate::paging::{Page, Paging};
use crate::{Error, Ledger};
use domain::fields::{parse_timestamp, rfc3339};
use domain::movement::{TRANSACTION_TYPES, transaction_type};
use store::{ListedMovement, MovementFilter, TenantId};
use wire::{TransactionCount, TransactionList, TransactionView};

/// `GET /transactions` pages (by `startAfter`).
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// A customer's history (`GET /customers/{customerId}/transactions`), newest first.
pub const HISTORY: Paging = Paging {
    default: DEFAULT_LIMIT,
    max: MAX_LIMIT,
    cursor: "before",
    what: "a gameballTransactionId",
};

/// How deep v3's numbered pages reach: `page × limit` movements at most.
pub const MAX_NUMBERED: u32 = 10_000;

/// The filters of `GET /transactions` as the query string gives them.
#[derive(Debug, Clone, Default)]
pub struct TransactionQuery {
    pub customer_id: Option<String>,
    pub kind: Option<String>,
    pub direction: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub transaction_id: Option<String>,
    pub start_after: Option<String>,
    pub limit: Option<String>,
}

/// A numbered page of v3's `GET /transaction/list`.
pub struct NumberedPage {
    pub transactions: Vec<TransactionView>,
    pub page: u32,
    pub limit: u32,
    pub has_more: bool,
}

fn invalid(message: String) -> Error {
    Error::invalid(message)
}

fn instant(name: &str, value: Option<String>) -> Result<Option<i64>, Error> {
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

/// The store's filter for `q` (`None`: nothing can match); `paged` reads
/// `startAfter` and `limit` too.
pub fn filter(q: TransactionQuery, paged: bool) -> Result<Option<MovementFilter>, Error> {
    let mut f = MovementFilter {
        customer_id: q.customer_id.filter(|c| !c.is_empty()),
        from: instant("from", q.from)?,
        to: instant("to", q.to)?,
        transaction_id: q.transaction_id.filter(|t| !t.is_empty()),
        limit: DEFAULT_LIMIT,
        ..MovementFilter::default()
    };
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
        let (_, kinds, credit) = TRANSACTION_TYPES
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| {
                let names: Vec<&str> = TRANSACTION_TYPES.iter().map(|(n, _, _)| *n).collect();
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

/// A movement as the listings show it.
pub fn view(m: ListedMovement) -> TransactionView {
    TransactionView {
        gameball_transaction_id: m.id,
        kind: transaction_type(&m.kind, m.points),
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

/// A whole number from 1 to `max` (`default` when absent), refused by name.
fn number(name: &str, v: Option<String>, default: u32, max: u32) -> Result<u32, Error> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(format!("{name}: must be a whole number from 1 to {max}"))),
    }
}

impl Ledger {
    /// `GET /transactions`: a page of the tenant's movements by ascending id.
    pub async fn transactions(
        &self,
        tenant: TenantId,
        q: TransactionQuery,
    ) -> Result<TransactionList, Error> {
        let Some(mut f) = filter(q, true)? else {
            return Ok(TransactionList {
                transactions: Vec::new(),
                has_more: false,
                next: None,
            });
        };
        let limit = f.limit;
        f.limit = Page::<ListedMovement>::fetch(limit);
        let _share = self.listings.enter(tenant).await?;
        let rows = self.store.list_movements(tenant, &f).await?;
        let page = Page::cut(rows, limit, |m| m.id).map(view);
        Ok(TransactionList {
            has_more: page.next.is_some(),
            next: page.next,
            transactions: page.items,
        })
    }

    /// `GET /transactions/count`: how many movements match (paging ignored).
    pub async fn count_transactions(
        &self,
        tenant: TenantId,
        q: TransactionQuery,
    ) -> Result<TransactionCount, Error> {
        let count = match filter(q, false)? {
            Some(f) => {
                let _share = self.listings.enter(tenant).await?;
                self.store.count_movements(tenant, &f).await?
            }
            None => 0,
        };
        Ok(TransactionCount { count })
    }

    /// Gameball v3's `GET /transaction/list`: page `page` of `limit` movements,
    /// reaching the first [`MAX_NUMBERED`] at most.
    pub async fn numbered_transactions(
        &self,
        tenant: TenantId,
        q: TransactionQuery,
        page: Option<String>,
        limit: Option<String>,
    ) -> Result<NumberedPage, Error> {
        let limit = number("limit", limit, 50, 200)?;
        let page = number("page", page, 1, MAX_NUMBERED)?;
        let skip = (page - 1).saturating_mul(limit);
        if skip.saturating_add(limit) > MAX_NUMBERED {
            return Err(invalid(format!(
                "page: pages reach the first {MAX_NUMBERED} transactions; narrow them with from and to"
            )));
        }
        let Some(mut f) = filter(q, false)? else {
            return Ok(NumberedPage {
                transactions: Vec::new(),
                page,
                limit,
                has_more: false,
            });
        };
        f.limit = skip + limit + 1;
        let _share = self.listings.enter(tenant).await?;
        let rows = self.store.list_movements(tenant, &f).await?;
        let has_more = rows.len() > (skip + limit) as usize;
        let transactions = rows
            .into_iter()
            .skip(skip as usize)
            .take(limit as usize)
            .map(view)
            .collect();
        Ok(NumberedPage {
            transactions,
            page,
            limit,
            has_more,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> TransactionQuery {
        let mut q = TransactionQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "type" => q.kind = v,
                "direction" => q.direction = v,
                "from" => q.from = v,
                "startAfter" => q.start_after = v,
                "limit" => q.limit = v,
                other => panic!("{other}"),
            }
        }
        q
    }

    #[test]
    fn a_type_filters_its_kinds_and_manual_ones_their_direction() {
        let f = filter(query(&[("type", "ManualDeduction")]), true)
            .unwrap()
            .unwrap();
        assert_eq!((f.kinds, f.credit), (Some(vec!["manual"]), Some(false)));
        assert_eq!(
            filter(
                query(&[("type", "ManualDeduction"), ("direction", "+")]),
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
        let space = filter(query(&[("direction", " ")]), true).unwrap().unwrap();
        assert_eq!(space.credit, Some(true));
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
