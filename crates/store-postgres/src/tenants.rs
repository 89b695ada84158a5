//! Tenant rows: creation (the first one under an advisory lock), listing, secret rotation, lookup by apikey.

use crate::{FIRST_TENANT_LOCK, LOCK_SPACE, is_unique_violation, pg, prepared};
use deadpool_postgres::{Client, GenericClient};
use domain::settings::ProgramSettings;
use store::{NewTenant, StoreError, TenantAuth, TenantId, TenantSummary, from_millis, to_millis};
use time::OffsetDateTime;

pub async fn create(
    c: &impl GenericClient,
    t: &NewTenant,
    now: OffsetDateTime,
) -> Result<TenantSummary, StoreError> {
    let inserted = c
        .query_one(
            "INSERT INTO tenants (name, apikey, secret_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&t.name, &t.apikey, &t.secret_hash, &to_millis(now)],
        )
        .await;
    match inserted {
        Ok(row) => Ok(TenantSummary {
            id: row.get(0),
            name: t.name.clone(),
            apikey: t.apikey.clone(),
            created_at: from_millis(to_millis(now)),
        }),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "a tenant named '{}' already exists",
            t.name
        ))),
        Err(e) => Err(pg(e)),
    }
}

pub async fn create_first(
    c: &mut Client,
    t: &NewTenant,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // Many nodes may start on an empty database at once: one of them creates it.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&LOCK_SPACE, &FIRST_TENANT_LOCK],
    )
    .await
    .map_err(pg)?;
    let existing: i64 = tx
        .query_one("SELECT count(*) FROM tenants", &[])
        .await
        .map_err(pg)?
        .get(0);
    if existing > 0 {
        return Ok(false);
    }
    create(&tx, t, now).await?;
    tx.commit().await.map_err(pg)?;
    Ok(true)
}

pub async fn list(c: &impl GenericClient) -> Result<Vec<TenantSummary>, StoreError> {
    let rows = c
        .query(
            "SELECT id, name, apikey, created_at FROM tenants ORDER BY id",
            &[],
        )
        .await
        .map_err(pg)?;
    Ok(rows
        .iter()
        .map(|r| TenantSummary {
            id: r.get(0),
            name: r.get(1),
            apikey: r.get(2),
            created_at: from_millis(r.get(3)),
        })
        .collect())
}

pub async fn rotate_secret(
    c: &impl GenericClient,
    name: &str,
    secret_hash: &str,
) -> Result<(), StoreError> {
    let n = c
        .execute(
            "UPDATE tenants SET secret_hash = $1 WHERE name = $2",
            &[&secret_hash, &name],
        )
        .await
        .map_err(pg)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The tenants' configuration generation (V12: moved by triggers).
pub async fn config_generation(c: &Client) -> Result<i64, StoreError> {
    let st = c
        .prepare_cached("SELECT generation FROM config_generation WHERE id = 1")
        .await
        .map_err(pg)?;
    Ok(c.query_one(&st, &[]).await.map_err(pg)?.get(0))
}

pub async fn by_apikey(c: &Client, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
    let st = c
        .prepare_cached(
            "SELECT id, name, secret_hash, high_security FROM tenants WHERE apikey = $1",
        )
        .await
        .map_err(pg)?;
    let row = c.query_opt(&st, &[&apikey]).await.map_err(pg)?;
    Ok(row.map(|r| TenantAuth {
        id: r.get(0),
        name: r.get(1),
        secret_hash: r.get(2),
        high_security: r.get(3),
    }))
}

pub async fn settings(
    c: &impl GenericClient,
    tenant: TenantId,
) -> Result<ProgramSettings, StoreError> {
    settings_where(c, "id = $1", &tenant).await
}

pub async fn settings_by_name(
    c: &impl GenericClient,
    name: &str,
) -> Result<ProgramSettings, StoreError> {
    settings_where(c, "name = $1", &name).await
}

async fn settings_where(
    c: &impl GenericClient,
    condition: &str,
    key: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<ProgramSettings, StoreError> {
    let row = prepared::query_opt(
        c,
        &format!("SELECT settings FROM tenants WHERE {condition}"),
        &[key],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    serde_json::from_str(row.get(0)).map_err(StoreError::other)
}

/// `high_security` is kept beside the JSON because every request's auth reads it.
pub async fn set_settings(
    c: &impl GenericClient,
    name: &str,
    s: &ProgramSettings,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(s).map_err(StoreError::other)?;
    let n = c
        .execute(
            "UPDATE tenants SET settings = $1, high_security = $2 WHERE name = $3",
            &[&text, &s.high_security, &name],
        )
        .await
        .map_err(pg)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn end_session(c: &Client, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO ended_console_sessions (nonce, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&nonce, &expires_at],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

pub async fn session_ended(c: &Client, nonce: &str) -> Result<bool, StoreError> {
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM ended_console_sessions WHERE nonce = $1)",
            &[&nonce],
        )
        .await
        .map_err(pg)?;
    Ok(row.get(0))
}
