//! Tenant rows: creation, listing, secret rotation, lookup by apikey.

use crate::sql_err;
use domain::settings::ProgramSettings;
use rusqlite::{Connection, OptionalExtension, params};
use store::{NewTenant, StoreError, TenantAuth, TenantId, TenantSummary, from_millis, to_millis};
use time::OffsetDateTime;

pub fn create(
    c: &Connection,
    t: &NewTenant,
    now: OffsetDateTime,
) -> Result<TenantSummary, StoreError> {
    let inserted = c.execute(
        "INSERT INTO tenants (name, apikey, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![t.name, t.apikey, t.secret_hash, to_millis(now)],
    );
    match inserted {
        Ok(_) => Ok(TenantSummary {
            id: c.last_insert_rowid(),
            name: t.name.clone(),
            apikey: t.apikey.clone(),
            created_at: from_millis(to_millis(now)),
        }),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict(format!(
                "a tenant named '{}' already exists",
                t.name
            )))
        }
        Err(e) => Err(sql_err(e)),
    }
}

pub fn create_first(
    c: &Connection,
    t: &NewTenant,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let existing: i64 = c
        .query_row("SELECT count(*) FROM tenants", [], |r| r.get(0))
        .map_err(sql_err)?;
    if existing > 0 {
        return Ok(false);
    }
    create(c, t, now)?;
    Ok(true)
}

pub fn list(c: &mut Connection) -> Result<Vec<TenantSummary>, StoreError> {
    let mut st = c
        .prepare_cached("SELECT id, name, apikey, created_at FROM tenants ORDER BY id")
        .map_err(sql_err)?;
    let rows = st
        .query_map([], |r| {
            Ok(TenantSummary {
                id: r.get(0)?,
                name: r.get(1)?,
                apikey: r.get(2)?,
                created_at: from_millis(r.get(3)?),
            })
        })
        .map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

pub fn rotate_secret(c: &Connection, name: &str, secret_hash: &str) -> Result<(), StoreError> {
    let n = c
        .execute(
            "UPDATE tenants SET secret_hash = ?1 WHERE name = ?2",
            params![secret_hash, name],
        )
        .map_err(sql_err)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub fn by_apikey(c: &mut Connection, apikey: &str) -> Result<Option<TenantAuth>, StoreError> {
    c.prepare_cached("SELECT id, name, secret_hash, high_security FROM tenants WHERE apikey = ?1")
        .map_err(sql_err)?
        .query_row([apikey], |r| {
            Ok(TenantAuth {
                id: r.get(0)?,
                name: r.get(1)?,
                secret_hash: r.get(2)?,
                high_security: r.get(3)?,
            })
        })
        .optional()
        .map_err(sql_err)
}

/// The tenants' configuration generation (V12: moved by triggers).
pub fn config_generation(c: &mut Connection) -> Result<i64, StoreError> {
    c.prepare_cached("SELECT generation FROM config_generation WHERE id = 1")
        .map_err(sql_err)?
        .query_row([], |r| r.get(0))
        .map_err(sql_err)
}

fn parse_settings(text: &str) -> Result<ProgramSettings, StoreError> {
    serde_json::from_str(text).map_err(StoreError::other)
}

pub fn settings(c: &Connection, tenant: TenantId) -> Result<ProgramSettings, StoreError> {
    let text: String = c
        .prepare_cached("SELECT settings FROM tenants WHERE id = ?1")
        .map_err(sql_err)?
        .query_row([tenant], |r| r.get(0))
        .optional()
        .map_err(sql_err)?
        .ok_or(StoreError::NotFound)?;
    parse_settings(&text)
}

pub fn settings_by_name(c: &Connection, name: &str) -> Result<ProgramSettings, StoreError> {
    let text: String = c
        .query_row(
            "SELECT settings FROM tenants WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?
        .ok_or(StoreError::NotFound)?;
    parse_settings(&text)
}

/// `high_security` is kept beside the JSON because every request's auth reads it.
pub fn set_settings(c: &Connection, name: &str, s: &ProgramSettings) -> Result<(), StoreError> {
    let text = serde_json::to_string(s).map_err(StoreError::other)?;
    let n = c
        .execute(
            "UPDATE tenants SET settings = ?1, high_security = ?2 WHERE name = ?3",
            params![text, s.high_security, name],
        )
        .map_err(sql_err)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub fn end_session(c: &Connection, nonce: &str, expires_at: i64) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO ended_console_sessions (nonce, expires_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )
    .map_err(sql_err)?
    .execute(params![nonce, expires_at])
    .map_err(sql_err)?;
    Ok(())
}

pub fn session_ended(c: &Connection, nonce: &str) -> Result<bool, StoreError> {
    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM ended_console_sessions WHERE nonce = ?1)")
        .map_err(sql_err)?
        .query_row([nonce], |r| r.get(0))
        .map_err(sql_err)
}
