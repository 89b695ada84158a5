use super::*;

/// Whether a documented path names a route template: the same segments, a
/// `{parameter}` of the route matching any one segment.
fn names(documented: &str, route: &str) -> bool {
    let d: Vec<&str> = documented.split('/').collect();
    let r: Vec<&str> = route.split('/').collect();
    d.len() == r.len() && d.iter().zip(&r).all(|(d, r)| d == r || r.starts_with('{'))
}

fn documented() -> Vec<(String, String)> {
    let doc = build();
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
    let canonical = under(CANONICAL_BASE);
    assert!(canonical.len() > 20);
    for base in &crate::BASE_PATHS[1..] {
        assert_eq!(under(base), canonical, "{base}");
    }
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_every_schema_is_used() {
    let doc = build();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in &all {
        let (kind, name) = r
            .strip_prefix("#/components/")
            .and_then(|rest| rest.split_once('/'))
            .expect(r);
        assert!(
            doc["components"][kind].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    for kind in ["schemas", "headers", "parameters"] {
        for name in doc["components"][kind].as_object().unwrap().keys() {
            let target = format!("#/components/{kind}/{name}");
            assert!(all.contains(&target), "{kind} {name} is never used");
        }
    }
}

#[test]
fn the_document_is_openapi_3_1_with_both_key_schemes_and_every_error_code() {
    let doc = build();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["apikey"]["name"], "apikey");
    assert_eq!(schemes["secretkey"]["in"], "header");
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(codes, wire::ErrorCode::ALL.len());
    // Each single call names exactly its success shape.
    let cashback = &doc["paths"][format!("{CANONICAL_BASE}/transactions/cashback")]["post"];
    assert_eq!(
        cashback["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CashbackRewarded"
    );
}

#[test]
fn each_batch_type_names_a_success_shape_of_the_document() {
    let doc = build();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for t in wire::BatchType::ALL {
        let shape = success_shape(t);
        assert!(schemas.contains_key(shape), "{t}: {shape}");
        let listed = format!("#/components/schemas/{shape}");
        assert!(
            schemas["Success"]["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["$ref"] == listed),
            "{shape} is a Success member"
        );
    }
}

#[test]
fn the_reference_page_shows_every_operation_and_fetches_nothing() {
    let page = reference::render(&build());
    for (_, path) in documented() {
        assert!(page.contains(&format!("<code>{path}</code>")), "{path}");
    }
    // Example URLs may appear as text; nothing may be loaded from anywhere.
    for remote in [
        "src=",
        "href=\"http",
        "href=\"//",
        "url(",
        "@import",
        "<script",
        "<link",
        "<iframe",
    ] {
        assert!(!page.contains(remote), "the page contains {remote}");
    }
}
