use super::*;

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
