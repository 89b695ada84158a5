//! The OpenAPI document (crate `contract`) against what the router serves:
//! every route documented, every documented operation served, under every base
//! path; and every v3 example rewritten into an item its parser accepts.

use crate::v3::translate;
use domain::ledger::parse as ledger;
use serde_json::Value;

/// Whether a documented path names a route template: the same segments, a
/// `{parameter}` of the route matching any one segment.
fn names(documented: &str, route: &str) -> bool {
    let d: Vec<&str> = documented.split('/').collect();
    let r: Vec<&str> = route.split('/').collect();
    d.len() == r.len() && d.iter().zip(&r).all(|(d, r)| d == r || r.starts_with('{'))
}

fn documented() -> Vec<(String, String)> {
    let doc = contract::document();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase(), path.clone()));
        }
    }
    out
}

fn canonical_routes() -> Vec<(String, String)> {
    crate::route_table()
        .into_iter()
        .filter(|(_, path)| {
            !crate::BASE_PATHS[1..]
                .iter()
                .any(|other| path.starts_with(other))
        })
        .map(|(m, p)| (m.to_string(), p))
        .collect()
}

#[test]
fn every_route_of_the_router_is_documented() {
    let documented = documented();
    for (method, route) in canonical_routes() {
        assert!(
            documented
                .iter()
                .any(|(m, p)| *m == method && names(p, &route)),
            "{method} {route} is served but not in the OpenAPI document"
        );
    }
}

#[test]
fn every_documented_operation_is_a_route_of_the_router() {
    let routes = canonical_routes();
    for (method, path) in documented() {
        let served: Vec<&String> = routes
            .iter()
            .filter(|(m, r)| *m == method && names(&path, r))
            .map(|(_, r)| r)
            .collect();
        assert!(
            !served.is_empty(),
            "{method} {path} is documented but not served"
        );
        // A concrete route wins over a template (`/batch/orders/transactions`).
        if served.len() > 1 {
            assert!(
                served.iter().any(|r| **r == path),
                "{method} {path}: {served:?}"
            );
        }
    }
}

#[test]
fn every_base_path_serves_the_same_routes() {
    let table = crate::route_table();
    let under = |base: &str| -> Vec<(String, String)> {
        table
            .iter()
            .filter_map(|(m, p)| {
                p.strip_prefix(base)
                    .map(|rest| (m.to_string(), rest.to_owned()))
            })
            .collect()
    };
    let canonical = under(contract::CANONICAL_BASE);
    assert!(canonical.len() > 20);
    for base in &crate::BASE_PATHS[1..] {
        assert_eq!(under(base), canonical, "{base}");
    }
}

fn example(name: &str) -> Value {
    contract::example(name).unwrap_or_else(|| panic!("no example of {name}"))
}

#[test]
fn every_v3_example_translates_into_an_item_its_parser_accepts() {
    let player = translate::player(example("v3.Player")).unwrap();
    assert!(domain::customers::parse(player).is_ok());
    let event = translate::event(example("v3.Event")).unwrap();
    assert!(domain::events::parse(event).is_ok());
    let cases: [(&str, translate::Step, ledger::Parser); 6] = [
        ("v3.Cashback", translate::cashback, ledger::parse_cashback),
        ("v3.Hold", translate::hold, ledger::parse_hold),
        ("v3.Redeem", translate::redeem, ledger::parse_redeem),
        (
            "v3.ManualTransaction",
            translate::manual,
            ledger::parse_manual,
        ),
        ("v3.Refund", translate::refund, ledger::parse_refund),
        ("v3.Order", translate::order, ledger::parse_order),
    ];
    for (name, translate, parse) in cases {
        let item = translate(example(name)).unwrap();
        assert!(parse(item).is_ok(), "{name}");
    }
    assert!(translate::batch(example("v3.Batch")).is_ok());
}
