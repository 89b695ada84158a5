//! The points ledger: one customer's lots and holds (`book`), ledger items parsed into typed operations (`parse`), and posting them to a chunk's state (`post`).

pub mod book;
pub mod parse;
pub mod post;

pub use book::*;
