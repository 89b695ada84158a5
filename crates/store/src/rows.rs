//! Stored rows back to values: the column lists every backend selects, and how their values become jobs, customers and movements (the SQL stays in the backends).

use crate::MovementRow;
use crate::types::*;
use domain::customers::Profile;
use domain::ledger::{Entry, Ledger};
use domain::movement::{Movement, MovementKind};
use domain::{CustomerId, CustomerRecord};
use wire::{BatchType, JobState};

/// Items of queued and running jobs not processed yet, over all tenants (one `BIGINT`).
pub const QUEUED_ITEMS: &str = "SELECT CAST(coalesce(sum(item_count - cursor), 0) AS BIGINT) FROM jobs \
     WHERE status IN ('queued', 'running')";

/// Items per minute of a tenant's chunks since a time: parameter 1 the tenant,
/// 2 the start (milliseconds); jobs that ended before it are not read.
pub const THROUGHPUT: &str = "SELECT CAST(r.committed_at / 60000 AS BIGINT) * 60000, CAST(sum(r.items) AS BIGINT) \
     FROM jobs j JOIN job_results r ON r.job_id = j.id \
     WHERE j.tenant_id = {1} AND (j.finished_at IS NULL OR j.finished_at >= {2}) \
     AND r.committed_at >= {2} GROUP BY 1 ORDER BY 1";

/// What a movement listing selects, in the order of [`ListedMovement`]'s fields.
pub const LISTED_MOVEMENT_COLUMNS: &str = "m.id, c.customer_id, m.kind, m.transaction_id, \
     m.hold_reference, m.order_id, m.reverses, m.points, m.amount, m.transaction_time, m.created_at";

/// Whose movements a listing walks: the tenant's, or one customer's (found
/// first, so each query walks one index in id order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementOwner {
    Tenant(TenantId),
    /// The customer's gameball id.
    Customer(i64),
}

/// The listing query over `owner`'s movements: `mark` is the backend's
/// placeholder sign (`?` or `$`), parameter 1 the owner's id (answered), 6 the
/// transaction id, and `filters` the backend's conditions on the others. With a
/// transaction id the query is a plain equality, which the planner serves from
/// its index.
pub fn movement_listing(
    owner: MovementOwner,
    mark: char,
    filters: &str,
    by_transaction: bool,
    select: &str,
    tail: &str,
) -> (String, i64) {
    let (column, id) = match owner {
        MovementOwner::Tenant(t) => ("m.tenant_id", t),
        MovementOwner::Customer(g) => ("m.gameball_id", g),
    };
    let transaction = if by_transaction {
        format!(" AND m.transaction_id = {mark}6")
    } else {
        String::new()
    };
    (
        format!(
            "SELECT {select} FROM movements m JOIN customers c ON c.gameball_id = m.gameball_id \
             WHERE {column} = {mark}1{transaction} AND {filters} {tail}"
        ),
        id,
    )
}

/// A page of `owner`'s movements matching `f`: in `f`'s order, `LIMIT` as
/// parameter 8, the columns of [`LISTED_MOVEMENT_COLUMNS`].
pub fn movement_page(
    owner: MovementOwner,
    mark: char,
    filters: &str,
    f: &crate::MovementFilter,
) -> (String, i64) {
    let (filters, order) = f.ordered(filters);
    movement_listing(
        owner,
        mark,
        &filters,
        f.transaction_id.is_some(),
        LISTED_MOVEMENT_COLUMNS,
        &format!("{order} LIMIT {mark}8"),
    )
}

/// How many of `owner`'s movements match `f` (its paging ignored).
pub fn movement_count(
    owner: MovementOwner,
    mark: char,
    filters: &str,
    f: &crate::MovementFilter,
) -> (String, i64) {
    movement_listing(
        owner,
        mark,
        filters,
        f.transaction_id.is_some(),
        "count(*)",
        "",
    )
}

/// What every job read selects, in the order of [`JobColumns`].
pub const JOB_COLUMNS: &str = "id, tenant_id, type, status, item_count, cursor, finished_count, \
     error_count, error, created_at, started_at, finished_at, expires_at";

/// The columns of a job row, in the order of [`JOB_COLUMNS`].
#[derive(Debug, Clone)]
pub struct JobColumns<'a> {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub batch_type: &'a str,
    pub status: &'a str,
    pub item_count: u32,
    pub cursor: u32,
    pub finished_count: u32,
    pub error_count: u32,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub expires_at: Option<i64>,
}

impl JobColumns<'_> {
    pub fn parse(self) -> Result<JobRecord, StoreError> {
        Ok(JobRecord {
            id: self.id,
            tenant_id: self.tenant_id,
            batch_type: batch_type(self.batch_type)?,
            state: JobState::parse(self.status).ok_or_else(|| {
                StoreError::Conflict(format!("unknown job status '{}'", self.status))
            })?,
            item_count: self.item_count,
            processed: self.cursor,
            finished_count: self.finished_count,
            error_count: self.error_count,
            error: self.error,
            created_at: from_millis(self.created_at),
            started_at: self.started_at.map(from_millis),
            finished_at: self.finished_at.map(from_millis),
            expires_at: self.expires_at.map(from_millis),
        })
    }
}

/// A stored batch type.
pub fn batch_type(text: &str) -> Result<BatchType, StoreError> {
    BatchType::parse(text).ok_or_else(|| StoreError::Conflict(format!("unknown job type '{text}'")))
}

/// A stored customer from its columns: ids, the profile and the ledger as JSON text.
pub fn record_from(
    gameball_id: i64,
    customer_id: &str,
    profile: &str,
    ledger: &str,
) -> Result<CustomerRecord, StoreError> {
    Ok(CustomerRecord {
        gameball_id,
        customer_id: CustomerId::parse(customer_id).map_err(|f| StoreError::Conflict(f.message))?,
        profile: serde_json::from_str::<Profile>(profile).map_err(StoreError::other)?,
        ledger: if ledger == "{}" {
            Ledger::default()
        } else {
            serde_json::from_str::<Ledger>(ledger).map_err(StoreError::other)?
        },
    })
}

/// A customer's current ledger (`c` is its row), as both backends select it: the
/// one on its latest movement, or the row's own when it has none (or only
/// movements written before the ledger moved onto them: migration V5 on both).
pub const CURRENT_LEDGER: &str = "coalesce((SELECT m.ledger FROM movements m \
     WHERE m.gameball_id = c.gameball_id ORDER BY m.id DESC LIMIT 1), c.ledger)";

/// The columns of a stored movement, in the order of [`MOVEMENT_COLUMNS`].
#[derive(Debug, Clone)]
pub struct MovementColumns<'a> {
    pub id: i64,
    pub kind: &'a str,
    pub transaction_id: Option<String>,
    pub hold_reference: Option<String>,
    pub points: i64,
    pub amount: Option<&'a str>,
    pub transaction_time: i64,
    pub created_at: i64,
    pub entry: &'a str,
    pub gameball_id: i64,
    pub order_id: Option<String>,
    pub reverses: Option<String>,
    pub item_index: Option<u32>,
}

/// What every movement read selects (`m` is the movements table).
pub const MOVEMENT_COLUMNS: &str = "m.id, m.kind, m.transaction_id, m.hold_reference, m.points, m.amount, \
     m.transaction_time, m.created_at, m.entry, m.gameball_id, m.order_id, m.reverses, m.item_index";

impl MovementColumns<'_> {
    pub fn parse(self) -> Result<MovementRow, StoreError> {
        let kind = MovementKind::parse(self.kind).ok_or_else(|| {
            StoreError::Conflict(format!("unknown movement kind {:?}", self.kind))
        })?;
        let entry: Entry = serde_json::from_str(self.entry).map_err(StoreError::other)?;
        let amount = self
            .amount
            .map(str::parse::<rust_decimal::Decimal>)
            .transpose()
            .map_err(StoreError::other)?;
        Ok(MovementRow {
            movement: Movement {
                id: self.id,
                gameball_id: self.gameball_id,
                kind,
                transaction_id: self.transaction_id,
                hold_reference: self.hold_reference,
                order_id: self.order_id,
                reverses: self.reverses,
                points: self.points,
                amount,
                transaction_time: self.transaction_time,
                entry,
                item_index: self.item_index,
            },
            created_at: self.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_rows_parse_back_and_unknown_names_are_errors() {
        let row = JobColumns {
            id: 1,
            tenant_id: 2,
            batch_type: "orders/transactions",
            status: "running",
            item_count: 10,
            cursor: 4,
            finished_count: 3,
            error_count: 1,
            error: None,
            created_at: 0,
            started_at: Some(1000),
            finished_at: None,
            expires_at: None,
        };
        let job = row.clone().parse().unwrap();
        assert_eq!(
            (job.batch_type, job.state, job.processed),
            (BatchType::OrderTransactions, JobState::Running, 4)
        );
        assert_eq!(job.started_at.map(to_millis), Some(1000));
        assert!(
            JobColumns {
                status: "paused",
                ..row.clone()
            }
            .parse()
            .is_err()
        );
        assert!(
            JobColumns {
                batch_type: "gifts",
                ..row
            }
            .parse()
            .is_err()
        );
    }

    #[test]
    fn stored_columns_parse_back_into_records_and_movements() {
        assert!(record_from(1, "a\u{0}", "{}", "{}").is_err());
        assert!(record_from(1, "a", "[", "{}").is_err());
        let row = MovementColumns {
            id: 4,
            kind: "cashback",
            transaction_id: Some("t".into()),
            hold_reference: None,
            points: 10,
            amount: Some("1.5"),
            transaction_time: 1,
            created_at: 2,
            entry: r#"{"op":"credit","points":10,"availableAt":1}"#,
            gameball_id: 3,
            order_id: None,
            reverses: None,
            item_index: Some(0),
        };
        let m = row.clone().parse().unwrap();
        assert_eq!(
            (m.kind, m.amount.unwrap().to_string()),
            (MovementKind::Cashback, "1.5".into())
        );
        assert!(
            MovementColumns {
                kind: "gift",
                ..row.clone()
            }
            .parse()
            .is_err()
        );
        assert!(
            MovementColumns {
                amount: Some("x"),
                ..row
            }
            .parse()
            .is_err()
        );
    }
}
