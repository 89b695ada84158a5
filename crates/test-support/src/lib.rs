//! Test-only code shared by the test suites: the store conformance suite, throwaway PostgreSQL databases, and the fixtures every suite needs (a tenant, a job). No release build depends on it.
#![forbid(unsafe_code)]

pub mod conformance;
pub mod fixtures;
pub mod postgres;
pub mod receiver;
