//! The synthetic workload: realistic, deterministic customer items, serialized request bodies and raw table rows.

use anyhow::{Result, anyhow};
use serde_json::{Value, json};
use std::ops::Range;

/// Objects per batch request (the API's default limit) and rows per raw transaction.
pub const BATCH_SIZE: usize = 1000;

const FIRST_NAMES: &[&str] = &[
    "Ahmed", "Mona", "Omar", "Sara", "Youssef", "Layla", "Karim", "Nour", "John", "Emma", "Lucas",
    "Mia", "Ali", "Hana", "David", "Sofia",
];
const LAST_NAMES: &[&str] = &[
    "Hassan", "Ibrahim", "Mansour", "Farouk", "Smith", "Garcia", "Rossi", "Nakamura", "Khalil",
    "Haddad", "Brown", "Schmidt",
];
const PLACES: &[(&str, &str)] = &[
    ("Cairo", "EG"),
    ("Alexandria", "EG"),
    ("Dubai", "AE"),
    ("Riyadh", "SA"),
    ("Jeddah", "SA"),
    ("Amman", "JO"),
    ("Kuwait City", "KW"),
    ("London", "GB"),
    ("Berlin", "DE"),
    ("Madrid", "ES"),
];
const TAGS: &[&str] = &[
    "vip",
    "newsletter_subscriber",
    "app_user",
    "wholesale",
    "first_order",
    "churn_risk",
];
const SEGMENTS: &[&str] = &["bronze", "silver", "gold", "platinum"];

/// Stateless pseudo-random bits for item `i` (splitmix64): every run submits the same data.
fn bits(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<T: Copy>(choices: &[T], r: u64) -> T {
    choices[(r % choices.len() as u64) as usize]
}

fn date(year: u64, r: u64) -> String {
    format!("{year}-{:02}-{:02}", 1 + r % 12, 1 + (r >> 4) % 28)
}

/// Customer number `i`, with id `{prefix}{i}`, in the seed example's shape.
pub fn customer(prefix: &str, i: usize) -> Value {
    let r = bits(i as u64);
    let first = pick(FIRST_NAMES, r);
    let last = pick(LAST_NAMES, r >> 8);
    let (city, country) = pick(PLACES, r >> 16);
    let tags: Vec<&str> = (0..1 + (r >> 20) % 3)
        .map(|t| pick(TAGS, (r >> 24) + t))
        .collect();
    json!({
        "customerId": format!("{prefix}{i}"),
        "email": format!("{}.{}.{i}@example.com", first.to_lowercase(), last.to_lowercase()),
        "name": format!("{first} {last}"),
        "gender": if r & 1 == 0 { "M" } else { "F" },
        "dateOfBirth": date(1950 + (r >> 28) % 55, r >> 32),
        "joinDate": date(2015 + (r >> 40) % 10, r >> 44),
        "tags": tags,
        "custom": {"segment": pick(SEGMENTS, r >> 52), "score": (r >> 54) % 1000},
        "customerAttributes": {"city": city, "country": country},
    })
}

/// The JSON body of one batch request holding customers `range`.
pub fn batch_body(prefix: &str, range: Range<usize>) -> Vec<u8> {
    let items: Vec<Value> = range.map(|i| customer(prefix, i)).collect();
    serde_json::to_vec(&json!({ "body": items })).expect("a JSON value always serializes")
}

/// The batch requests that together submit customers `0..count`, as (items, body),
/// built lazily one request at a time.
pub fn batch_bodies(prefix: &str, count: usize) -> impl Iterator<Item = (u32, Vec<u8>)> {
    (0..count).step_by(BATCH_SIZE).map(move |from| {
        let to = (from + BATCH_SIZE).min(count);
        ((to - from) as u32, batch_body(prefix, from..to))
    })
}

/// The JSON body of one single-call upsert (`POST /customers`).
pub fn single_body(prefix: &str, i: usize) -> Vec<u8> {
    serde_json::to_vec(&customer(prefix, i)).expect("a JSON value always serializes")
}

/// A `customers` row as the store writes it for a new customer.
pub struct RawRow {
    pub customer_id: String,
    /// The stored profile JSON, produced by the same domain parser the API uses.
    pub profile: String,
}

/// The rows of customers `0..count`, with exactly the profile text the store would write.
pub fn raw_rows(prefix: &str, count: usize) -> Result<Vec<RawRow>> {
    (0..count)
        .map(|i| {
            let upsert = domain::customers::parse(customer(prefix, i))
                .map_err(|r| anyhow!("generated customer {i} is invalid: {}", r.failure.message))?;
            Ok(RawRow {
                customer_id: upsert.customer_id.as_str().to_owned(),
                profile: serde_json::to_string(&upsert.patch)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_customers_are_valid_and_deterministic() {
        for i in 0..2000 {
            let item = customer("c", i);
            assert!(
                domain::customers::parse(item.clone()).is_ok(),
                "item {i} invalid: {item}"
            );
            assert_eq!(item, customer("c", i));
        }
    }

    #[test]
    fn bodies_split_into_full_requests_and_a_remainder() {
        let sizes: Vec<(u32, usize)> = batch_bodies("c", 2500)
            .map(|(n, b)| {
                (
                    n,
                    serde_json::from_slice::<Value>(&b).unwrap()["body"]
                        .as_array()
                        .unwrap()
                        .len(),
                )
            })
            .collect();
        assert_eq!(sizes, [(1000, 1000), (1000, 1000), (500, 500)]);
    }
}
