//! The README's Rust example of verifying a webhook signature: it is this
//! code, and it accepts loyalbatch's signatures and refuses forgeries.

include!("readme/verify.rs");

use loyalbatch_domain::webhooks::signature;

const README: &str = include_str!("../../../README.md");

#[test]
fn the_readme_example_is_the_code_tested_here() {
    let section = &README[README.find("**Verifying a signature.**").unwrap()..];
    let start = section.find("```rust\n").unwrap() + "```rust\n".len();
    let end = start + section[start..].find("```").unwrap();
    assert_eq!(&section[start..end], include_str!("readme/verify.rs"));
}

#[test]
fn the_readme_example_verifies_loyalbatch_signatures() {
    let body = br#"{"id":"evt_42","type":"batch.completed"}"#;
    let now = 1_764_460_800;
    let header = signature("whsec_abc", now, body);
    assert!(verify("whsec_abc", &header, body, now + 10));
    assert!(!verify("whsec_other", &header, body, now));
    assert!(!verify("whsec_abc", &header, b"{}", now));
    assert!(!verify("whsec_abc", &header, body, now + 301));
    assert!(!verify("whsec_abc", "t=1", body, now));
}
