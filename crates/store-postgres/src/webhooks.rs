//! Webhook endpoints and deliveries: the event rows a job's end writes, claims under a lease (`SKIP LOCKED`), attempts.

use crate::pg;
use deadpool_postgres::{Client, GenericClient};
use domain::webhooks::EndpointBackoff;
use std::time::Duration;
use store::webhooks::{
    DELIVERY_COLUMNS, delivery_record, events_from_text, events_text, final_event,
};
use store::*;
use time::OffsetDateTime;
use tokio_postgres::Row;

/// Writes the final event of `job` (as its end just returned it) for every
/// endpoint of its tenant subscribed to it, in the transaction that ended it.
pub async fn enqueue_final(c: &impl GenericClient, job: &JobRecord) -> Result<(), StoreError> {
    let Some(event) = final_event(job) else {
        return Ok(());
    };
    // One statement, a round trip fewer than asking first whether any
    // endpoint subscribes (rendering the body costs less than the trip).
    c.execute(
        "INSERT INTO webhook_deliveries (webhook_id, job_id, event_type, payload, next_attempt_at, created_at) \
         SELECT id, $2, $3, $4, $5, $5 FROM webhooks \
         WHERE tenant_id = $1 AND events LIKE '%,' || $3 || ',%'",
        &[&job.tenant_id, &job.id, &event.kind.as_str(), &event.body, &event.at],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

const WEBHOOK_COLUMNS: &str = "id, tenant_id, url, events, secret, created_at";

fn webhook_from_row(r: &Row) -> WebhookRecord {
    WebhookRecord {
        id: r.get(0),
        tenant_id: r.get(1),
        url: r.get(2),
        events: events_from_text(r.get(3)),
        secret: r.get(4),
        created_at: from_millis(r.get(5)),
    }
}

pub async fn create(
    c: &mut Client,
    tenant: TenantId,
    w: &NewWebhook,
    max: usize,
    now: OffsetDateTime,
) -> Result<WebhookRecord, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // The tenant's row lock serializes endpoint creation (count, then insert).
    tx.execute("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", &[&tenant])
        .await
        .map_err(pg)?;
    let existing: i64 = tx
        .query_one(
            "SELECT count(*) FROM webhooks WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .map_err(pg)?
        .get(0);
    if usize::try_from(existing).unwrap_or(usize::MAX) >= max {
        return Err(StoreError::Conflict(format!(
            "a tenant has at most {max} webhook endpoints"
        )));
    }
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO webhooks (tenant_id, url, events, secret, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {WEBHOOK_COLUMNS}"
            ),
            &[
                &tenant,
                &w.url,
                &events_text(&w.events),
                &w.secret,
                &to_millis(now),
            ],
        )
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(webhook_from_row(&row))
}

pub async fn list(
    c: &impl GenericClient,
    tenant: TenantId,
) -> Result<Vec<WebhookRecord>, StoreError> {
    let rows = c
        .query(
            &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 ORDER BY id"),
            &[&tenant],
        )
        .await
        .map_err(pg)?;
    Ok(rows.iter().map(webhook_from_row).collect())
}

pub async fn delete(
    c: &impl GenericClient,
    tenant: TenantId,
    webhook: i64,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "DELETE FROM webhooks WHERE id = $1 AND tenant_id = $2",
            &[&webhook, &tenant],
        )
        .await
        .map_err(pg)?;
    Ok(n == 1)
}

async fn owns(c: &impl GenericClient, tenant: TenantId, webhook: i64) -> Result<bool, StoreError> {
    Ok(c.query_one(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1 AND tenant_id = $2)",
        &[&webhook, &tenant],
    )
    .await
    .map_err(pg)?
    .get(0))
}

fn delivery_from_row(r: &Row) -> Result<DeliveryRecord, StoreError> {
    delivery_record(
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        i64::from(r.get::<_, i32>(5)),
        r.get::<_, Option<i32>>(6).map(i64::from),
        r.get(7),
        [r.get(8), r.get(9), r.get(10), r.get(11)],
    )
}

pub async fn deliveries(
    c: &impl GenericClient,
    tenant: TenantId,
    webhook: i64,
    filter: DeliveryFilter,
) -> Result<Option<Vec<DeliveryRecord>>, StoreError> {
    if !owns(c, tenant, webhook).await? {
        return Ok(None);
    }
    let rows = c
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3"
            ),
            &[
                &webhook,
                &filter.before.unwrap_or(i64::MAX),
                &i64::from(filter.limit),
            ],
        )
        .await
        .map_err(pg)?;
    rows.iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub async fn retry(
    c: &impl GenericClient,
    tenant: TenantId,
    webhook: i64,
    delivery: i64,
    now: OffsetDateTime,
) -> Result<Option<DeliveryRecord>, StoreError> {
    if !owns(c, tenant, webhook).await? {
        return Ok(None);
    }
    let row = c
        .query_opt(
            &format!(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, delivered_at = NULL \
                 WHERE id = $1 AND webhook_id = $2 RETURNING {DELIVERY_COLUMNS}"
            ),
            &[&delivery, &webhook, &to_millis(now)],
        )
        .await
        .map_err(pg)?;
    row.as_ref().map(delivery_from_row).transpose()
}

/// The due deliveries a claim may take (see [`store::ClaimLimits`]): ranked
/// within each endpoint, then within each tenant after the endpoints' caps,
/// counting what is already leased; each tenant's first before any tenant's
/// second. Rows another node is claiming right now are skipped, not waited for.
const CLAIMABLE: &str = "WITH busy AS (SELECT webhook_id, count(*) AS n FROM webhook_deliveries \
        WHERE status = 'pending' AND lease_until > $1 GROUP BY webhook_id), \
     busy_tenant AS (SELECT w.tenant_id, sum(b.n)::BIGINT AS n FROM busy b JOIN webhooks w ON w.id = b.webhook_id \
        GROUP BY w.tenant_id), \
     due AS (SELECT d.id, d.webhook_id, w.tenant_id, d.next_attempt_at, \
        row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS e_rank \
        FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
        WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.lease_until <= $1 \
        AND w.paused_until <= $1), \
     open AS (SELECT due.id, due.tenant_id, due.next_attempt_at, \
        row_number() OVER (PARTITION BY due.tenant_id ORDER BY due.next_attempt_at, due.id) AS t_rank \
        FROM due LEFT JOIN busy ON busy.webhook_id = due.webhook_id \
        WHERE due.e_rank + coalesce(busy.n, 0) <= $4::BIGINT), \
     chosen AS (SELECT open.id FROM open LEFT JOIN busy_tenant bt ON bt.tenant_id = open.tenant_id \
        WHERE open.t_rank + coalesce(bt.n, 0) <= $5::BIGINT \
        ORDER BY open.t_rank, open.next_attempt_at, open.id LIMIT $3), \
     picked AS (SELECT id FROM webhook_deliveries WHERE id IN (SELECT id FROM chosen) \
        AND status = 'pending' AND lease_until <= $1 FOR UPDATE SKIP LOCKED)";

pub async fn claim(
    c: &impl GenericClient,
    now: OffsetDateTime,
    lease: Duration,
    limits: ClaimLimits,
) -> Result<Vec<DeliveryClaim>, StoreError> {
    let rows = c
        .query(
            &format!(
                "{CLAIMABLE} \
                 UPDATE webhook_deliveries d SET lease_token = d.lease_token + 1, lease_until = $2 \
                 FROM picked, webhooks w WHERE d.id = picked.id AND w.id = d.webhook_id \
                 RETURNING d.id, d.lease_token, w.url, w.secret, d.job_id, d.payload, d.attempts, d.created_at"
            ),
            &[
                &to_millis(now),
                &to_millis(add(now, lease)),
                &i64::from(limits.limit),
                &i64::from(limits.per_endpoint),
                &i64::from(limits.per_tenant),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(rows
        .iter()
        .map(|r| DeliveryClaim {
            id: r.get(0),
            token: r.get(1),
            url: r.get(2),
            secret: r.get(3),
            job_id: r.get(4),
            payload: r.get(5),
            attempts: u32::try_from(r.get::<_, i32>(6)).unwrap_or(0),
            created_at: r.get(7),
        })
        .collect())
}

pub async fn record(
    c: &mut Client,
    reports: &[AttemptReport],
    backoff: EndpointBackoff,
) -> Result<(), StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    let st = tx
        .prepare(
            "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, last_status_code = $4, \
             last_error = $5, last_attempt_at = $6, next_attempt_at = $7, lease_until = 0, \
             delivered_at = CASE WHEN $3 = 'delivered' THEN $6 ELSE delivered_at END \
             WHERE id = $1 AND lease_token = $2 AND status = 'pending' RETURNING webhook_id",
        )
        .await
        .map_err(pg)?;
    // Pipelined: every update is sent before the first answer is awaited.
    let updates = reports.iter().map(|r| {
        let (status, next) = r.outcome();
        let code = r.status_code.map(i32::from);
        let st = &st;
        let tx = &tx;
        async move {
            tx.query_opt(
                st,
                &[
                    &r.id,
                    &r.token,
                    &status.as_str(),
                    &code,
                    &r.error,
                    &r.attempted_at,
                    &next,
                ],
            )
            .await
            .map(|row| row.map(|row| (row.get::<_, i64>(0), r)))
        }
    });
    let recorded = futures::future::try_join_all(updates).await.map_err(pg)?;
    // A stale report (another holder's token) says nothing of the endpoint.
    endpoints_answered(&tx, recorded.into_iter().flatten(), backoff).await?;
    tx.commit().await.map_err(pg)?;
    Ok(())
}

/// Counts endpoints' failures in a row (a success clears them) and pauses the
/// ones that keep failing, pipelined.
async fn endpoints_answered<'a>(
    tx: &impl GenericClient,
    answered: impl Iterator<Item = (i64, &'a AttemptReport)>,
    backoff: EndpointBackoff,
) -> Result<(), StoreError> {
    let counted = answered.map(|(webhook, r)| async move {
        if r.error.is_none() {
            tx.execute(
                "UPDATE webhooks SET failures = 0, paused_until = 0 WHERE id = $1 AND failures > 0",
                &[&webhook],
            )
            .await?;
            return Ok(None);
        }
        let failures: i32 = tx
            .query_one(
                "UPDATE webhooks SET failures = failures + 1 WHERE id = $1 RETURNING failures",
                &[&webhook],
            )
            .await?
            .get(0);
        let pause = backoff.pause(u32::try_from(failures).unwrap_or(0));
        Ok(pause.map(|p| {
            let until = r
                .attempted_at
                .saturating_add(i64::try_from(p.as_millis()).unwrap_or(i64::MAX));
            (webhook, until)
        }))
    });
    let pauses: Vec<Option<(i64, i64)>> =
        futures::future::try_join_all(counted).await.map_err(pg)?;
    let paused = pauses
        .into_iter()
        .flatten()
        .map(|(webhook, until)| async move {
            tx.execute(
                "UPDATE webhooks SET paused_until = GREATEST(paused_until, $2) WHERE id = $1",
                &[&webhook, &until],
            )
            .await
        });
    futures::future::try_join_all(paused).await.map_err(pg)?;
    Ok(())
}

/// Deliveries settled (delivered or failed) longer ago than the retention.
pub async fn purge(c: &impl GenericClient, now: OffsetDateTime) -> Result<u64, StoreError> {
    let cutoff = to_millis(now).saturating_sub(
        i64::try_from(webhooks::DELIVERY_RETENTION.as_millis()).unwrap_or(i64::MAX),
    );
    c.execute(
        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND last_attempt_at < $1",
        &[&cutoff],
    )
    .await
    .map_err(pg)
}
