//! `/docs`: the OpenAPI document rendered as one self-contained HTML page — no
//! script, no font or style from elsewhere, readable offline.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::{Map, Value};

const STYLE: &str = "
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1d2330}
code,pre{font-family:ui-monospace,monospace;font-size:.9em;background:#f2f4f7;padding:0 .2em;border-radius:3px}
h1{margin-bottom:0}h2{border-bottom:1px solid #d0d5dd;padding-bottom:.2rem;margin-top:2.5rem}
.op{border:1px solid #d0d5dd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}
.get{color:#067647}.post{color:#175cd3}.delete{color:#b42318}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #eaecf0;text-align:left;padding:.25rem .5rem;vertical-align:top}
th{font-weight:600;background:#f9fafb}nav ul{columns:2}a{color:#175cd3}
";

/// The page for `doc` (an OpenAPI 3.1 document as JSON).
pub fn render(doc: &Value) -> String {
    let info = &doc["info"];
    let schemas = doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    let operations = operations(doc);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (text(&info["title"])) " API reference" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (text(&info["title"])) " API " (text(&info["version"])) }
                p { "The machine-readable document: " a href="/api/openapi.json" { code { "/api/openapi.json" } } " (OpenAPI " (text(&doc["openapi"])) ")." }
                @for paragraph in text(&info["description"]).split("\n\n") {
                    p { (prose(paragraph)) }
                }
                nav {
                    h2 { "Operations" }
                    @for tag in &tags {
                        h3 { (tag) }
                        ul {
                            @for (method, path, op) in operations.iter().filter(|(_, _, op)| has_tag(op, tag)) {
                                li { a href={ "#" (text(&op["operationId"])) } { span class={ "method " (method) } { (method) } " " code { (path) } } " — " (prose(&text(&op["summary"]))) }
                            }
                        }
                    }
                }
                @for tag in &tags {
                    h2 { (tag) }
                    @for (method, path, op) in operations.iter().filter(|(_, _, op)| has_tag(op, tag)) {
                        (operation(method, path, op, doc))
                    }
                }
                h2 id="schemas" { "Schemas" }
                @for (name, schema) in &schemas {
                    (schema_section(name, schema))
                }
            }
        }
    }
    .into_string()
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

fn has_tag(op: &Value, tag: &str) -> bool {
    op["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == tag))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Text with `code` spans (the document's descriptions use backticks only).
fn prose(s: &str) -> Markup {
    html! {
        @for (i, part) in s.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

fn security(op: &Value) -> Markup {
    let options: Vec<String> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|req| {
            req.as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>().join(" + "))
                .unwrap_or_default()
        })
        .collect();
    html! {
        @if options.is_empty() { "none" }
        @else { (options.join(", or ")) }
    }
}

/// `v`, or what its `$ref` names in `doc`.
fn resolved<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => doc.pointer(&format!("/{pointer}")).unwrap_or(v),
        None => v,
    }
}

fn operation(method: &str, path: &str, op: &Value, doc: &Value) -> Markup {
    html! {
        section class="op" id=(text(&op["operationId"])) {
            h3 { span class={ "method " (method) } { (method) } " " code { (path) } }
            p { (prose(&text(&op["summary"]))) }
            @if let Some(d) = op["description"].as_str() { p { (prose(d)) } }
            p { "Keys: " (security(op)) }
            @if let Some(params) = op["parameters"].as_array() {
                table {
                    tr { th { "Parameter" } th { "In" } th { "Type" } th { "Description" } }
                    @for p in params.iter().map(|p| resolved(doc, p)) {
                        tr {
                            td { code { (text(&p["name"])) } @if p["required"] == true { " *" } }
                            td { (text(&p["in"])) }
                            td { (type_label(&p["schema"])) }
                            td { (prose(&text(&p["description"]))) }
                        }
                    }
                }
            }
            @if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
                p { "Body: " (type_label(schema)) }
            }
            table {
                tr { th { "Status" } th { "Answer" } th { "When" } }
                @for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    tr {
                        td { (status) }
                        td {
                            @for (media, content) in response["content"].as_object().into_iter().flatten() {
                                (type_label(&content["schema"])) " " small { (media) }
                            }
                        }
                        td { (prose(&text(&response["description"]))) }
                    }
                }
            }
        }
    }
}

fn schema_section(name: &str, schema: &Value) -> Markup {
    html! {
        section id={ "schema-" (name) } {
            h3 { (name) }
            @if let Some(d) = schema["description"].as_str() { p { (prose(d)) } }
            @if schema.get("properties").is_some() || schema.get("allOf").is_some() {
                (properties(schema))
            } @else {
                p { (type_label(schema)) }
            }
            @if let Some(example) = schema["examples"].get(0) {
                p { "Example:" }
                pre { (serde_json::to_string_pretty(example).unwrap_or_default()) }
            }
        }
    }
}

/// The fields of an object schema (and of the objects it is composed of).
fn properties(schema: &Value) -> Markup {
    let mut rows: Vec<(String, bool, Value)> = Vec::new();
    collect(schema, &mut rows);
    html! {
        table {
            tr { th { "Field" } th { "Type" } th { "Description" } }
            @for (name, required, s) in &rows {
                tr {
                    td { code { (name) } @if *required { " *" } }
                    td { (type_label(s)) }
                    td { (prose(&text(&s["description"]))) }
                }
            }
        }
    }
}

fn collect(schema: &Value, rows: &mut Vec<(String, bool, Value)>) {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let empty = Map::new();
    for (name, s) in schema["properties"].as_object().unwrap_or(&empty) {
        rows.push((name.clone(), required.contains(&name.as_str()), s.clone()));
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        match part["$ref"].as_str() {
            Some(r) => rows.push((
                "…".into(),
                false,
                serde_json::json!({"$ref": r, "description": "its fields"}),
            )),
            None => collect(part, rows),
        }
    }
}

/// A schema in a few words: a link to a named schema, a type with its bounds, or a choice.
fn type_label(s: &Value) -> Markup {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return html! { a href={ "#schema-" (name) } { (name) } };
    }
    for (key, joiner) in [("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")] {
        if let Some(parts) = s[key].as_array() {
            return html! {
                @for (i, p) in parts.iter().enumerate() {
                    @if i > 0 { (joiner) }
                    (type_label(p))
                }
            };
        }
    }
    let kind = match &s["type"] {
        Value::Array(types) => types.iter().map(text).collect::<Vec<_>>().join(" or "),
        t => text(t),
    };
    let mut bounds = Vec::new();
    for (key, label) in [
        ("minimum", "≥ "),
        ("maximum", "≤ "),
        ("minLength", "length ≥ "),
        ("maxLength", "length ≤ "),
        ("minItems", "items ≥ "),
        ("maxItems", "items ≤ "),
        ("format", ""),
    ] {
        if let Some(v) = s.get(key) {
            bounds.push(format!("{label}{}", text(v)));
        }
    }
    html! {
        @if kind == "array" || s.get("items").is_some() {
            "array of " (type_label(&s["items"]))
        } @else {
            (kind)
        }
        @if let Some(values) = s["enum"].as_array() {
            ": " @for (i, v) in values.iter().enumerate() { @if i > 0 { ", " } code { (text(v)) } }
        }
        @if !bounds.is_empty() { " (" (bounds.join(", ")) ")" }
    }
}
