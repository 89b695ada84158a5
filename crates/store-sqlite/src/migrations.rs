//! Keeps the migration history in step with the files: SQLite's migrations were renumbered to correspond one to one with PostgreSQL's.
//!
//! Until session 5, SQLite had V1 initial, V2 ledger, V3 order_movements and V4
//! ledger_on_movements, while PostgreSQL had V1 initial, V2 uncompressed_blocks,
//! V3 ledger, V4 order_movements (and now V5 ledger_on_movements). SQLite gained
//! a no-op V2__uncompressed_blocks and its later files moved up by one. A
//! database migrated under the old numbering has its history rewritten once, in
//! one transaction, before the runner looks at it: the same migrations, under
//! their new versions and checksums, so nothing runs twice.

use rusqlite::{Connection, OptionalExtension, params};
use store::StoreError;

const HISTORY: &str = "refinery_schema_history";

pub fn renumber_history(c: &Connection, runner: &refinery::Runner) -> Result<(), StoreError> {
    let exists: bool = c
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [HISTORY],
            |r| r.get(0),
        )
        .map_err(StoreError::other)?;
    if !exists {
        return Ok(());
    }
    let second: Option<String> = c
        .query_row(
            &format!("SELECT name FROM {HISTORY} WHERE version = 2"),
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::other)?;
    if second.as_deref() != Some("ledger") {
        return Ok(());
    }
    let migration = |version: i32| {
        runner
            .get_migrations()
            .iter()
            .find(|m| m.version() == version)
            .ok_or_else(|| StoreError::Conflict(format!("no migration V{version} is embedded")))
    };
    let applied_on: String = c
        .query_row(
            &format!("SELECT applied_on FROM {HISTORY} WHERE version = 2"),
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::other)?;
    let tx = c.unchecked_transaction().map_err(StoreError::other)?;
    // Highest first, so no version collides on its way up.
    let applied: Vec<i32> = {
        let mut st = tx
            .prepare(&format!(
                "SELECT version FROM {HISTORY} WHERE version >= 2 ORDER BY version DESC"
            ))
            .map_err(StoreError::other)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(StoreError::other)?;
        rows.collect::<Result<_, _>>().map_err(StoreError::other)?
    };
    for version in applied {
        let moved = migration(version + 1)?;
        tx.execute(
            &format!(
                "UPDATE {HISTORY} SET version = ?2, name = ?3, checksum = ?4 WHERE version = ?1"
            ),
            params![
                version,
                version + 1,
                moved.name(),
                moved.checksum().to_string()
            ],
        )
        .map_err(StoreError::other)?;
    }
    let inserted = migration(2)?;
    tx.execute(
        &format!(
            "INSERT INTO {HISTORY} (version, name, applied_on, checksum) VALUES (2, ?1, ?2, ?3)"
        ),
        params![inserted.name(), applied_on, inserted.checksum().to_string()],
    )
    .map_err(StoreError::other)?;
    tx.commit().map_err(StoreError::other)?;
    tracing::info!("migration history renumbered to match PostgreSQL's");
    Ok(())
}
