//! `GET /transactions` and its count: a tenant's movements, filtered, by id.

use crate::pg;
use deadpool_postgres::GenericClient;
use store::rows::{MovementOwner as Owner, movement_count, movement_page};
use store::{ListedMovement, MovementFilter, StoreError, TenantId};
use tokio_postgres::types::ToSql;

/// The filters after the owner (`$1`: the tenant, or the customer's gameball id).
const FILTERS: &str = "($2::TEXT IS NULL OR strpos($2::TEXT, ',' || m.kind || ',') > 0) \
     AND ($3::BIGINT = 0 OR ($3 > 0 AND m.points > 0) OR ($3 < 0 AND m.points < 0)) \
     AND ($4::BIGINT IS NULL OR m.transaction_time >= $4) AND ($5::BIGINT IS NULL OR m.transaction_time < $5) \
     AND ($6::TEXT IS NULL OR m.transaction_id = $6) AND ($7::BIGINT IS NULL OR m.id > $7)";

async fn owner(
    c: &impl GenericClient,
    tenant: TenantId,
    f: &MovementFilter,
) -> Result<Option<Owner>, StoreError> {
    let Some(customer) = &f.customer_id else {
        return Ok(Some(Owner::Tenant(tenant)));
    };
    let row = c
        .query_opt(
            "SELECT gameball_id FROM customers WHERE tenant_id = $1 AND customer_id = $2",
            &[&tenant, customer],
        )
        .await
        .map_err(pg)?;
    Ok(row.map(|r| Owner::Customer(r.get(0))))
}

pub async fn list(
    c: &impl GenericClient,
    tenant: TenantId,
    f: &MovementFilter,
) -> Result<Vec<ListedMovement>, StoreError> {
    let Some(owner) = owner(c, tenant, f).await? else {
        return Ok(Vec::new());
    };
    let (text, id) = movement_page(owner, '$', FILTERS, f);
    let kinds = f.kinds_text();
    let limit = i64::from(f.limit);
    let params: [&(dyn ToSql + Sync); 8] = [
        &id,
        &kinds,
        &f.sign(),
        &f.from,
        &f.to,
        &f.transaction_id,
        &f.after,
        &limit,
    ];
    let rows = c.query(&text, &params).await.map_err(pg)?;
    Ok(rows
        .iter()
        .map(|r| ListedMovement {
            id: r.get(0),
            customer_id: r.get(1),
            kind: r.get(2),
            transaction_id: r.get(3),
            hold_reference: r.get(4),
            order_id: r.get(5),
            reverses: r.get(6),
            points: r.get(7),
            amount: r.get(8),
            transaction_time: r.get(9),
            created_at: r.get(10),
        })
        .collect())
}

pub async fn count(
    c: &impl GenericClient,
    tenant: TenantId,
    f: &MovementFilter,
) -> Result<u64, StoreError> {
    let Some(owner) = owner(c, tenant, f).await? else {
        return Ok(0);
    };
    let (text, id) = movement_count(owner, '$', FILTERS, f);
    let kinds = f.kinds_text();
    let none: Option<i64> = None;
    let params: [&(dyn ToSql + Sync); 7] = [
        &id,
        &kinds,
        &f.sign(),
        &f.from,
        &f.to,
        &f.transaction_id,
        &none,
    ];
    let n: i64 = c.query_one(&text, &params).await.map_err(pg)?.get(0);
    Ok(u64::try_from(n).unwrap_or(0))
}
