//! `GET /transactions` and its count: a tenant's movements, filtered, by id.

use crate::sql_err;
use rusqlite::{Connection, OptionalExtension, params};
use store::rows::{MovementOwner as Owner, movement_count, movement_page};
use store::{ListedMovement, MovementFilter, StoreError, TenantId};

/// The filters after the owner (`?1`: the tenant, or the customer's gameball id).
const FILTERS: &str = "(?2 IS NULL OR instr(?2, ',' || m.kind || ',') > 0) \
     AND (?3 = 0 OR (?3 > 0 AND m.points > 0) OR (?3 < 0 AND m.points < 0)) \
     AND (?4 IS NULL OR m.transaction_time >= ?4) AND (?5 IS NULL OR m.transaction_time < ?5) \
     AND (?6 IS NULL OR m.transaction_id = ?6) AND (?7 IS NULL OR m.id > ?7)";

fn owner(
    c: &Connection,
    tenant: TenantId,
    f: &MovementFilter,
) -> Result<Option<Owner>, StoreError> {
    let Some(customer) = &f.customer_id else {
        return Ok(Some(Owner::Tenant(tenant)));
    };
    let id: Option<i64> = c
        .prepare_cached(
            "SELECT gameball_id FROM customers WHERE tenant_id = ?1 AND customer_id = ?2",
        )
        .map_err(sql_err)?
        .query_row(params![tenant, customer], |r| r.get(0))
        .optional()
        .map_err(sql_err)?;
    Ok(id.map(Owner::Customer))
}

pub fn list(
    c: &Connection,
    tenant: TenantId,
    f: &MovementFilter,
) -> Result<Vec<ListedMovement>, StoreError> {
    let Some(owner) = owner(c, tenant, f)? else {
        return Ok(Vec::new());
    };
    let (text, id) = movement_page(owner, '?', FILTERS, f);
    let mut st = c.prepare_cached(&text).map_err(sql_err)?;
    let rows = st
        .query_map(
            params![
                id,
                f.kinds_text(),
                f.sign(),
                f.from,
                f.to,
                f.transaction_id,
                f.after,
                f.limit
            ],
            |r| {
                Ok(ListedMovement {
                    id: r.get(0)?,
                    customer_id: r.get(1)?,
                    kind: r.get(2)?,
                    transaction_id: r.get(3)?,
                    hold_reference: r.get(4)?,
                    order_id: r.get(5)?,
                    reverses: r.get(6)?,
                    points: r.get(7)?,
                    amount: r.get(8)?,
                    transaction_time: r.get(9)?,
                    created_at: r.get(10)?,
                })
            },
        )
        .map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

pub fn count(c: &Connection, tenant: TenantId, f: &MovementFilter) -> Result<u64, StoreError> {
    let Some(owner) = owner(c, tenant, f)? else {
        return Ok(0);
    };
    let (text, id) = movement_count(owner, '?', FILTERS, f);
    let n: i64 = c
        .prepare_cached(&text)
        .map_err(sql_err)?
        .query_row(
            params![
                id,
                f.kinds_text(),
                f.sign(),
                f.from,
                f.to,
                f.transaction_id,
                None::<i64>
            ],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}
