//! `/docs`: the OpenAPI document rendered as one self-contained HTML page — no
//! script, no font or style from elsewhere, readable offline. Written as plain
//! text with every value escaped (no template engine in the API's build).

use serde_json::{Map, Value};
use std::fmt::Write;

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

/// `text` with the characters HTML gives a meaning escaped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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
    let title = esc(&text(&info["title"]));
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} API reference</title><style>{STYLE}</style></head><body>\
         <h1>{title} API {}</h1>\
         <p>The machine-readable document: <a href=\"/api/openapi.json\"><code>/api/openapi.json</code></a> (OpenAPI {}).</p>",
        esc(&text(&info["version"])),
        esc(&text(&doc["openapi"])),
    );
    for paragraph in text(&info["description"]).split("\n\n") {
        let _ = write!(page, "<p>{}</p>", prose(paragraph));
    }
    page.push_str("<nav><h2>Operations</h2>");
    for tag in &tags {
        let _ = write!(page, "<h3>{}</h3><ul>", esc(tag));
        for (method, path, op) in operations.iter().filter(|(_, _, op)| has_tag(op, tag)) {
            let _ = write!(
                page,
                "<li><a href=\"#{}\"><span class=\"method {m}\">{m}</span> <code>{}</code></a> — {}</li>",
                esc(&text(&op["operationId"])),
                esc(path),
                prose(&text(&op["summary"])),
                m = esc(method),
            );
        }
        page.push_str("</ul>");
    }
    page.push_str("</nav>");
    for tag in &tags {
        let _ = write!(page, "<h2>{}</h2>", esc(tag));
        for (method, path, op) in operations.iter().filter(|(_, _, op)| has_tag(op, tag)) {
            page.push_str(&operation(method, path, op, doc));
        }
    }
    page.push_str("<h2 id=\"schemas\">Schemas</h2>");
    for (name, schema) in &schemas {
        page.push_str(&schema_section(name, schema));
    }
    page.push_str("</body></html>");
    page
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
fn prose(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

fn security(op: &Value) -> String {
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
    if options.is_empty() {
        "none".to_owned()
    } else {
        esc(&options.join(", or "))
    }
}

/// `v`, or what its `$ref` names in `doc`.
fn resolved<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => doc.pointer(&format!("/{pointer}")).unwrap_or(v),
        None => v,
    }
}

fn operation(method: &str, path: &str, op: &Value, doc: &Value) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"op\" id=\"{}\"><h3><span class=\"method {m}\">{m}</span> <code>{}</code></h3><p>{}</p>",
        esc(&text(&op["operationId"])),
        esc(path),
        prose(&text(&op["summary"])),
        m = esc(method),
    );
    if let Some(d) = op["description"].as_str() {
        let _ = write!(out, "<p>{}</p>", prose(d));
    }
    let _ = write!(out, "<p>Keys: {}</p>", security(op));
    if let Some(params) = op["parameters"].as_array() {
        out.push_str(
            "<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>",
        );
        for p in params.iter().map(|p| resolved(doc, p)) {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&text(&p["name"])),
                if p["required"] == true { " *" } else { "" },
                esc(&text(&p["in"])),
                type_label(&p["schema"]),
                prose(&text(&p["description"])),
            );
        }
        out.push_str("</table>");
    }
    if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
        let _ = write!(out, "<p>Body: {}</p>", type_label(schema));
    }
    out.push_str("<table><tr><th>Status</th><th>Answer</th><th>When</th></tr>");
    for (status, response) in op["responses"].as_object().into_iter().flatten() {
        let _ = write!(out, "<tr><td>{}</td><td>", esc(status));
        for (media, content) in response["content"].as_object().into_iter().flatten() {
            let _ = write!(
                out,
                "{} <small>{}</small>",
                type_label(&content["schema"]),
                esc(media)
            );
        }
        let _ = write!(
            out,
            "</td><td>{}</td></tr>",
            prose(&text(&response["description"]))
        );
    }
    out.push_str("</table></section>");
    out
}

fn schema_section(name: &str, schema: &Value) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<section id=\"schema-{n}\"><h3>{n}</h3>",
        n = esc(name)
    );
    if let Some(d) = schema["description"].as_str() {
        let _ = write!(out, "<p>{}</p>", prose(d));
    }
    if schema.get("properties").is_some() || schema.get("allOf").is_some() {
        out.push_str(&properties(schema));
    } else {
        let _ = write!(out, "<p>{}</p>", type_label(schema));
    }
    if let Some(example) = schema["examples"].get(0) {
        let _ = write!(
            out,
            "<p>Example:</p><pre>{}</pre>",
            esc(&serde_json::to_string_pretty(example).unwrap_or_default())
        );
    }
    out.push_str("</section>");
    out
}

/// The fields of an object schema (and of the objects it is composed of).
fn properties(schema: &Value) -> String {
    let mut rows: Vec<(String, bool, Value)> = Vec::new();
    collect(schema, &mut rows);
    let mut out = String::from("<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>");
    for (name, required, s) in &rows {
        let _ = write!(
            out,
            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            if *required { " *" } else { "" },
            type_label(s),
            prose(&text(&s["description"])),
        );
    }
    out.push_str("</table>");
    out
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
fn type_label(s: &Value) -> String {
    if let Some(r) = s["$ref"].as_str() {
        let name = esc(r.rsplit('/').next().unwrap_or(r));
        return format!("<a href=\"#schema-{name}\">{name}</a>");
    }
    for (key, joiner) in [("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")] {
        if let Some(parts) = s[key].as_array() {
            let labels: Vec<String> = parts.iter().map(type_label).collect();
            return labels.join(joiner);
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
    let mut out = if kind == "array" || s.get("items").is_some() {
        format!("array of {}", type_label(&s["items"]))
    } else {
        esc(&kind)
    };
    if let Some(values) = s["enum"].as_array() {
        let listed: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&text(v))))
            .collect();
        let _ = write!(out, ": {}", listed.join(", "));
    }
    if !bounds.is_empty() {
        let _ = write!(out, " ({})", esc(&bounds.join(", ")));
    }
    out
}
