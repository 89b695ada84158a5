//! The backend conformance suite: every store behaviour, run against each backend by `conformance_tests!`.
//!
//! A backend's test file calls `test_support::conformance_tests!(async_fn_returning_a_fresh_store)`;
//! each behaviour becomes its own `#[tokio::test]` on a database of its own.

use domain::chunk::Parsed;
use domain::{ChunkItems, customers};
use std::time::Duration;
use store::*;
use time::OffsetDateTime;
use wire::{BatchType, ErrorCode, JobState};

const LEASE: Duration = Duration::from_secs(30);
const RETENTION: Duration = Duration::from_secs(3600);

fn now() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

async fn tenant(store: &dyn Store, name: &str) -> TenantId {
    crate::fixtures::tenant(store, name).await
}

fn customer_items(n: u32, prefix: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!(r#"{{"customerId":"{prefix}{i}","email":"{prefix}{i}@x.io"}}"#))
        .collect()
}

fn new_job(tenant_id: TenantId, items: &[String], idempotency: Option<Idempotency>) -> NewJob {
    NewJob {
        tenant_id,
        batch_type: BatchType::Customers,
        item_count: items.len() as u32,
        segments: segment_items(items.iter().map(String::as_str)),
        idempotency,
        queue_limit: 1_000_000,
        now: now(),
    }
}

async fn submit(store: &dyn Store, tenant_id: TenantId, items: &[String]) -> JobId {
    store
        .create_job(new_job(tenant_id, items, None))
        .await
        .unwrap()
        .job_id()
}

fn work(claim: &Claim, raw: &[(u32, String)], at: OffsetDateTime) -> ChunkWork {
    ChunkWork {
        tenant_id: claim.tenant_id,
        from: raw.first().map_or(claim.cursor, |(i, _)| *i),
        items: ChunkItems::parse(claim.batch_type, raw.iter().map(|(i, t)| (*i, t.as_str()))),
        now: at,
        retention: RETENTION,
        lease_until: add(at, LEASE),
    }
}

/// Claims the next job and applies `count` items from its cursor.
async fn claim_and_apply(store: &dyn Store, count: u32) -> (Claim, ChunkCommitted) {
    let claim = store
        .claim_job(now(), LEASE)
        .await
        .unwrap()
        .expect("a runnable job");
    let raw = store
        .load_items(claim.fence.job_id, claim.cursor, count)
        .await
        .unwrap();
    let committed = store
        .apply_chunk(claim.fence, work(&claim, &raw, now()))
        .await
        .unwrap();
    (claim, committed)
}

mod chunks;
mod intake;
mod leases;
mod ledger;
mod tenants;
mod webhook_fairness;
mod webhooks;

pub use chunks::*;
pub use intake::*;
pub use leases::*;
pub use ledger::*;
pub use tenants::*;
pub use webhook_fairness::*;
pub use webhooks::*;

/// Generates one `#[tokio::test]` per behaviour, each on a fresh store from `$make`:
/// an async fn returning `Option<(Arc<dyn Store>, guard)>`, where the guard (a temp
/// dir, a database to drop) lives until the test ends; `None` skips the test
/// (e.g. PostgreSQL not configured).
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make;
            tenants_are_unique_and_found_by_apikey,
            the_configuration_generation_moves_only_when_tenants_change,
            first_tenant_is_created_only_on_an_empty_database,
            jobs_are_stored_whole_and_items_read_back_by_index,
            jobs_are_invisible_to_other_tenants,
            jobs_are_read_together_each_under_its_own_tenant,
            idempotency_keys_return_the_first_job_or_conflict,
            the_queue_limit_refuses_and_creates_nothing,
            chunks_advance_the_cursor_and_finish_the_job,
            a_job_where_every_item_failed_ends_failed,
            customers_written_by_chunks_are_upserted_with_stable_ids,
            a_claim_holds_until_its_lease_lapses_and_a_stale_fence_cannot_commit,
            every_chunk_commit_extends_the_lease,
            a_job_that_cannot_run_is_failed_with_its_reason,
            a_released_job_is_claimable_at_once,
            claims_take_turns_between_tenants,
            stop_is_final_and_fences_the_running_worker,
            list_is_newest_first_filtered_and_keyset_paged,
            purge_removes_only_expired_jobs,
            single_calls_apply_durably_and_customers_are_per_tenant,
            program_settings_are_stored_per_tenant,
            movements_are_kept_and_holds_are_found_by_reference,
            a_movement_leaves_the_customer_profile_and_updated_at_alone,
            ping_answers,
            a_job_end_writes_one_delivery_per_subscribed_endpoint,
            deliveries_are_claimed_under_a_lease_and_recorded_only_with_its_token,
            a_delivery_is_retried_on_demand_whatever_its_state,
            endpoints_are_per_tenant_limited_and_removed_with_their_deliveries,
            deliveries_are_paged_newest_first_and_settled_ones_purged,
            claims_take_turns_between_tenants_within_their_caps,
            an_endpoint_that_keeps_failing_is_paused_and_a_success_clears_it,
        );
    };
    (@each $make:path; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                match $make().await {
                    Some((store, guard)) => {
                        $crate::conformance::$name(store).await;
                        drop(guard);
                    }
                    None => {
                        // Written to the real stderr (not the captured `eprintln!`) so the
                        // skip shows in a normal `cargo test` run.
                        use std::io::Write as _;
                        let _ = writeln!(
                            std::io::stderr(),
                            "skipped {}: backend not configured (set LOYALBATCH_TEST_POSTGRES_URL)",
                            stringify!($name)
                        );
                    }
                }
            }
        )+
    };
}
