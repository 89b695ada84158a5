//! The v4 operations (under the canonical base path), by group.

mod customers;
mod jobs;
mod points;
mod webhooks;

use super::Builder;
use customers::customers;
use jobs::jobs;
use points::{holds_and_program, listings, points};
use webhooks::webhooks;

/// Adds the v4 operations, in the order the reference shows them.
pub(super) fn add(b: &mut Builder) {
    jobs(b);
    customers(b);
    points(b);
    listings(b);
    holds_and_program(b);
    webhooks(b);
}
