//! Items of every batch type with extreme numbers and control characters,
//! mixed with valid ones, applied as one chunk: nothing panics or wraps, the
//! ledger equals its movements, and the valid items apply.
use super::*;
use crate::ledger::Entry;
use proptest::prelude::*;

/// Numbers as JSON text: zero, signs, powers of ten up to 10^40, long
/// decimals, exponents, and the same as strings.
fn number() -> impl Strategy<Value = String> {
    let plain = prop_oneof![
        Just("0".to_owned()),
        Just("-0".to_owned()),
        (0u32..=40).prop_map(|k| format!("1{}", "0".repeat(k as usize))),
        (0u32..=40).prop_map(|k| format!("-1{}", "0".repeat(k as usize))),
        (1u32..=30).prop_map(|k| format!("0.{}1", "0".repeat(k as usize))),
        Just("79228162514264337593543950335".to_owned()),
        Just("79228162514264337593543950336".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("-9223372036854775808".to_owned()),
        (-40i32..=40).prop_map(|e| format!("1.5e{e}")),
        (1i64..1_000_000).prop_map(|n| n.to_string()),
        (1i64..1_000_000, 1u32..=9).prop_map(|(n, d)| format!("{n}.{}", "7".repeat(d as usize))),
    ];
    prop_oneof![4 => plain.clone(), 1 => plain.prop_map(|n| format!("\"{n}\""))]
}

/// An id: usually plain, sometimes with a control character, sometimes long.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u8..4).prop_map(|i| format!("c{i}")),
        1 => (0u32..32).prop_map(|c| format!("c\\u{c:04x}x")),
        1 => Just("x".repeat(300)),
    ]
}

fn hostile_item(t: BatchType) -> impl Strategy<Value = String> {
    (id(), id(), number(), number()).prop_map(move |(c, tx, n, m)| match t {
        BatchType::Customers => format!(
            r#"{{"customerId":"{c}","customerAttributes":{{"totalSpent":{n},"totalOrders":{m},"displayName":"{tx}"}}}}"#
        ),
        BatchType::Events => format!(r#"{{"customerId":"{c}","events":{{"{tx}":{{"v":{n}}}}}}}"#),
        BatchType::BalanceAdjustment => {
            format!(r#"{{"customerId":"{c}","amount":{n},"transactionId":"{tx}","expiryAfter":{m}}}"#)
        }
        BatchType::Cashback => format!(
            r#"{{"customerId":"{c}","transactionId":"{tx}","transactionTime":"{T}","amount":{n},"configurations":{{"returnWindow":{m}}}}}"#
        ),
        BatchType::Redeem => format!(
            r#"{{"customerId":"{c}","transactionId":"{tx}","transactionTime":"{T}","{}":{n}}}"#,
            if m.len() % 2 == 0 { "amount" } else { "points" }
        ),
        BatchType::Orders => format!(
            r#"{{"customerId":"{c}","orderId":"{tx}","orderDate":"{T}","totalPaid":{n},"totalPrice":{m}}}"#
        ),
        BatchType::BalanceInquiry => format!(r#"{{"customerId":"{c}"}}"#),
        BatchType::OrderTransactions => format!(r#""{tx}""#),
    })
}

/// An item that must apply (or, for spending, fail only for want of points).
fn valid_item(t: BatchType, i: usize) -> String {
    match t {
        BatchType::Customers => format!(r#"{{"customerId":"c{}","email":"v@x.io"}}"#, i % 4),
        BatchType::Events => {
            format!(r#"{{"customerId":"c{}","events":{{"visit":{{}}}}}}"#, i % 4)
        }
        BatchType::BalanceAdjustment => format!(r#"{{"customerId":"c{}","amount":1}}"#, i % 4),
        BatchType::Cashback => format!(
            r#"{{"customerId":"c{}","transactionId":"valid-{i}","transactionTime":"{T}","amount":1}}"#,
            i % 4
        ),
        BatchType::Redeem => format!(
            r#"{{"customerId":"c{}","transactionId":"valid-{i}","transactionTime":"{T}","points":1}}"#,
            i % 4
        ),
        BatchType::Orders => format!(
            r#"{{"customerId":"c{}","orderId":"valid-{i}","orderDate":"{T}","totalPaid":1}}"#,
            i % 4
        ),
        BatchType::BalanceInquiry => format!(r#"{{"customerId":"c{}"}}"#, i % 4),
        BatchType::OrderTransactions => r#""none""#.to_owned(),
    }
}

fn batch_type() -> impl Strategy<Value = BatchType> {
    proptest::sample::select(BatchType::ALL.to_vec())
}

fn case() -> impl Strategy<Value = (BatchType, Vec<(bool, String)>)> {
    batch_type().prop_flat_map(|t| {
        let item = prop_oneof![hostile_item(t).prop_map(Some), Just(None)];
        (Just(t), proptest::collection::vec(item, 1..40)).prop_map(|(t, items)| {
            // Valid items get ids of their own position: never a duplicate.
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Some(hostile) => (false, hostile),
                    None => (true, valid_item(t, i)),
                })
                .collect();
            (t, items)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn hostile_chunks_never_panic_wrap_or_lose_valid_items((t, items) in case()) {
        let texts: Vec<&str> = items.iter().map(|(_, s)| s.as_str()).collect();
        let chunk = ChunkItems::parse(t, texts.iter().enumerate().map(|(i, s)| (i as u32, *s)));
        // Four existing customers, each with a lot of 10^9 points (movement i+1).
        let seed = |i: i64| {
            let mut l = Ledger::default();
            let e = l.credit(NOW, 1_000_000_000, NOW, None).unwrap();
            l.apply(i + 1, &e);
            (e, l)
        };
        let seeds: Vec<(Entry, Ledger)> = (0..4).map(seed).collect();
        let existing: Vec<(String, Ledger)> =
            (0..4).map(|i| (format!("c{i}"), seeds[i].1.clone())).collect();
        let existing: Vec<(&str, Ledger)> =
            existing.iter().map(|(c, l)| (c.as_str(), l.clone())).collect();
        let st = state(&chunk, &existing, &[], ProgramSettings::default());
        let fx = apply(st, chunk);
        prop_assert_eq!(fx.outcomes.len(), items.len());
        for (o, (valid, text)) in fx.outcomes.iter().zip(&items) {
            let entry = o.entry();
            if *valid {
                let spends = t == BatchType::Redeem;
                let not_found = t == BatchType::OrderTransactions;
                prop_assert!(
                    o.is_success() || (spends && entry["code"] == 9008) || (not_found && entry["code"] == 4004),
                    "valid item failed: {} → {}", text, entry
                );
            }
            if let Some(quoted) = entry["customerId"].as_str() {
                prop_assert!(quoted.chars().count() <= 201, "{}", entry);
            }
            if let Some(message) = entry["error"].as_str() {
                prop_assert!(message.len() < 400, "{}", message);
            }
        }
        for w in &fx.customer_writes {
            let ledger = &w.record.ledger;
            let b = ledger.balance(NOW);
            prop_assert!(b.available >= 0 && b.pending >= 0 && b.held >= 0, "{:?}", b);
            prop_assert!(b.total() <= MAX_BALANCE && b.earned <= MAX_BALANCE, "{:?}", b);
            // The ledger is exactly its movements replayed.
            let g = w.record.gameball_id;
            let mut history: Vec<(i64, Millis, &Entry)> = Vec::new();
            if !w.is_new {
                history.push((g, NOW, &seeds[(g - 1) as usize].0));
            }
            history.extend(fx.movements.iter().filter(|m| m.gameball_id == g).map(|m| (m.id, NOW, &m.entry)));
            // Equal once both are settled: a refused spend may settle (drop an
            // emptied lot) without a movement; settling is lazy normalisation.
            let mut replayed = Ledger::replay(history);
            replayed.settle(NOW);
            let mut live = ledger.clone();
            live.settle(NOW);
            prop_assert_eq!(replayed, live);
        }
    }
}
