//! Webhook endpoints and deliveries: the event rows a job's end writes, claims under a lease, attempts.

use crate::sql_err;
use domain::webhooks::EndpointBackoff;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::time::Duration;
use store::webhooks::{
    DELIVERY_COLUMNS, delivery_record, events_from_text, events_text, final_event,
};
use store::*;
use time::OffsetDateTime;

/// Writes the final event of `job` (as its end just returned it) for every
/// endpoint of its tenant subscribed to it, in the transaction that ended it.
pub fn enqueue_final(c: &Connection, job: &JobRecord) -> Result<(), StoreError> {
    let subscribed: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = ?1)")
        .map_err(sql_err)?
        .query_row([job.tenant_id], |r| r.get(0))
        .map_err(sql_err)?;
    if !subscribed {
        return Ok(());
    }
    let Some(event) = final_event(job) else {
        return Ok(());
    };
    c.prepare_cached(
        "INSERT INTO webhook_deliveries (webhook_id, job_id, event_type, payload, next_attempt_at, created_at) \
         SELECT id, ?2, ?3, ?4, ?5, ?5 FROM webhooks \
         WHERE tenant_id = ?1 AND events LIKE '%,' || ?3 || ',%'",
    )
    .map_err(sql_err)?
    .execute(params![job.tenant_id, job.id, event.kind.as_str(), event.body, event.at])
    .map_err(sql_err)?;
    Ok(())
}

fn webhook_from_row(r: &Row<'_>) -> rusqlite::Result<WebhookRecord> {
    Ok(WebhookRecord {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        url: r.get(2)?,
        events: events_from_text(&r.get::<_, String>(3)?),
        secret: r.get(4)?,
        created_at: from_millis(r.get(5)?),
    })
}

const WEBHOOK_COLUMNS: &str = "id, tenant_id, url, events, secret, created_at";

pub fn create(
    c: &Connection,
    tenant: TenantId,
    w: &NewWebhook,
    max: usize,
    now: OffsetDateTime,
) -> Result<WebhookRecord, StoreError> {
    let existing: i64 = c
        .query_row(
            "SELECT count(*) FROM webhooks WHERE tenant_id = ?1",
            [tenant],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    if usize::try_from(existing).unwrap_or(usize::MAX) >= max {
        return Err(StoreError::Conflict(format!(
            "a tenant has at most {max} webhook endpoints"
        )));
    }
    c.query_row(
        &format!(
            "INSERT INTO webhooks (tenant_id, url, events, secret, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {WEBHOOK_COLUMNS}"
        ),
        params![
            tenant,
            w.url,
            events_text(&w.events),
            w.secret,
            to_millis(now)
        ],
        webhook_from_row,
    )
    .map_err(sql_err)
}

pub fn list(c: &Connection, tenant: TenantId) -> Result<Vec<WebhookRecord>, StoreError> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = ?1 ORDER BY id"
        ))
        .map_err(sql_err)?;
    let rows = st.query_map([tenant], webhook_from_row).map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

pub fn delete(c: &Connection, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "DELETE FROM webhooks WHERE id = ?1 AND tenant_id = ?2",
            params![webhook, tenant],
        )
        .map_err(sql_err)?;
    Ok(n == 1)
}

fn owns(c: &Connection, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = ?1 AND tenant_id = ?2)",
        params![webhook, tenant],
        |r| r.get(0),
    )
    .map_err(sql_err)
}

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<Result<DeliveryRecord, StoreError>> {
    let status: String = r.get(4)?;
    Ok(delivery_record(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        &status,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        [r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?],
    ))
}

pub fn deliveries(
    c: &Connection,
    tenant: TenantId,
    webhook: i64,
    filter: DeliveryFilter,
) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
    if !owns(c, tenant, webhook)? {
        return Ok(None);
    }
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?1 AND id < ?2 \
             ORDER BY id DESC LIMIT ?3"
        ))
        .map_err(sql_err)?;
    let rows = st
        .query_map(
            params![webhook, filter.before.unwrap_or(i64::MAX), filter.limit],
            delivery_from_row,
        )
        .map_err(sql_err)?;
    let list = rows
        .map(|r| r.map_err(sql_err)?)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(list))
}

pub fn retry(
    c: &Connection,
    tenant: TenantId,
    webhook: i64,
    delivery: i64,
    now: OffsetDateTime,
) -> Result<Option<DeliveryRecord>, StoreError> {
    if !owns(c, tenant, webhook)? {
        return Ok(None);
    }
    c.query_row(
        &format!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?3, delivered_at = NULL \
             WHERE id = ?1 AND webhook_id = ?2 RETURNING {DELIVERY_COLUMNS}"
        ),
        params![delivery, webhook, to_millis(now)],
        delivery_from_row,
    )
    .optional()
    .map_err(sql_err)?
    .transpose()
}

/// The due deliveries a claim may take (see [`store::ClaimLimits`]): ranked
/// within each endpoint, then within each tenant after the endpoints' caps,
/// counting what is already leased; each tenant's first before any tenant's
/// second.
const CLAIMABLE: &str = "WITH busy AS (SELECT webhook_id, count(*) AS n FROM webhook_deliveries \
        WHERE status = 'pending' AND lease_until > ?1 GROUP BY webhook_id), \
     busy_tenant AS (SELECT w.tenant_id, sum(b.n) AS n FROM busy b JOIN webhooks w ON w.id = b.webhook_id \
        GROUP BY w.tenant_id), \
     due AS (SELECT d.id, d.webhook_id, w.tenant_id, d.next_attempt_at, \
        row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS e_rank \
        FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
        WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND d.lease_until <= ?1 \
        AND w.paused_until <= ?1), \
     open AS (SELECT due.id, due.tenant_id, due.next_attempt_at, \
        row_number() OVER (PARTITION BY due.tenant_id ORDER BY due.next_attempt_at, due.id) AS t_rank \
        FROM due LEFT JOIN busy ON busy.webhook_id = due.webhook_id \
        WHERE due.e_rank + coalesce(busy.n, 0) <= ?4) \
     SELECT open.id FROM open LEFT JOIN busy_tenant bt ON bt.tenant_id = open.tenant_id \
     WHERE open.t_rank + coalesce(bt.n, 0) <= ?5 \
     ORDER BY open.t_rank, open.next_attempt_at, open.id LIMIT ?3";

pub fn claim(
    c: &Connection,
    now: OffsetDateTime,
    lease: Duration,
    limits: ClaimLimits,
) -> Result<Vec<DeliveryClaim>, StoreError> {
    let now_ms = to_millis(now);
    let mut st = c
        .prepare_cached(&format!(
            "UPDATE webhook_deliveries SET lease_token = lease_token + 1, lease_until = ?2 \
             WHERE id IN ({CLAIMABLE}) \
             RETURNING id, lease_token, webhook_id, job_id, payload, attempts, created_at"
        ))
        .map_err(sql_err)?;
    let claimed = st
        .query_map(
            params![
                now_ms,
                to_millis(add(now, lease)),
                limits.limit,
                limits.per_endpoint,
                limits.per_tenant
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            },
        )
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    let mut endpoint = c
        .prepare_cached("SELECT url, secret FROM webhooks WHERE id = ?1")
        .map_err(sql_err)?;
    claimed
        .into_iter()
        .map(
            |(id, token, webhook, job_id, payload, attempts, created_at)| {
                let (url, secret) = endpoint
                    .query_row([webhook], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_err)?;
                Ok(DeliveryClaim {
                    id,
                    token,
                    url,
                    secret,
                    job_id,
                    payload,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                    created_at,
                })
            },
        )
        .collect()
}

pub fn record(
    c: &Connection,
    reports: &[AttemptReport],
    backoff: EndpointBackoff,
) -> Result<(), StoreError> {
    let mut st = c
        .prepare_cached(
            "UPDATE webhook_deliveries SET status = ?3, attempts = attempts + 1, last_status_code = ?4, \
             last_error = ?5, last_attempt_at = ?6, next_attempt_at = ?7, lease_until = 0, \
             delivered_at = CASE WHEN ?3 = 'delivered' THEN ?6 ELSE delivered_at END \
             WHERE id = ?1 AND lease_token = ?2 AND status = 'pending' RETURNING webhook_id",
        )
        .map_err(sql_err)?;
    for r in reports {
        let (status, next) = r.outcome();
        let webhook: Option<i64> = st
            .query_row(
                params![
                    r.id,
                    r.token,
                    status.as_str(),
                    r.status_code,
                    r.error,
                    r.attempted_at,
                    next
                ],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        // A stale report (another holder's token) says nothing of the endpoint.
        if let Some(webhook) = webhook {
            endpoint_answered(c, webhook, r, backoff)?;
        }
    }
    Ok(())
}

/// Counts an endpoint's failures in a row (a success clears them) and pauses it.
fn endpoint_answered(
    c: &Connection,
    webhook: i64,
    report: &AttemptReport,
    backoff: EndpointBackoff,
) -> Result<(), StoreError> {
    if report.error.is_none() {
        c.prepare_cached(
            "UPDATE webhooks SET failures = 0, paused_until = 0 WHERE id = ?1 AND failures > 0",
        )
        .map_err(sql_err)?
        .execute([webhook])
        .map_err(sql_err)?;
        return Ok(());
    }
    let failures: i64 = c
        .prepare_cached(
            "UPDATE webhooks SET failures = failures + 1 WHERE id = ?1 RETURNING failures",
        )
        .map_err(sql_err)?
        .query_row([webhook], |r| r.get(0))
        .map_err(sql_err)?;
    if let Some(pause) = backoff.pause(u32::try_from(failures).unwrap_or(u32::MAX)) {
        let until = report
            .attempted_at
            .saturating_add(i64::try_from(pause.as_millis()).unwrap_or(i64::MAX));
        c.prepare_cached("UPDATE webhooks SET paused_until = max(paused_until, ?2) WHERE id = ?1")
            .map_err(sql_err)?
            .execute(params![webhook, until])
            .map_err(sql_err)?;
    }
    Ok(())
}

/// Deliveries settled (delivered or failed) longer ago than the retention.
pub fn purge(c: &Connection, now: OffsetDateTime) -> Result<u64, StoreError> {
    let cutoff = to_millis(now).saturating_sub(
        i64::try_from(webhooks::DELIVERY_RETENTION.as_millis()).unwrap_or(i64::MAX),
    );
    let n = c
        .execute(
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND last_attempt_at < ?1",
            [cutoff],
        )
        .map_err(sql_err)?;
    Ok(n as u64)
}
