//! A customer's tags: the names a call attaches or removes (an array, or the
//! comma-separated string Gameball v3 sends), and the change applied to a profile.

use super::{ATTRIBUTES, CustomerUpsert, Profile, TagChange, object_entry};
use crate::fields;
use crate::ids::CustomerId;
use crate::outcome::ItemFailure;
use serde_json::Value;

/// The most tags one customer may have (as `customerAttributes.tags` allows).
pub const MAX_TAGS: usize = 100;

/// `POST /customers/{id}/tags` `{"tags": ["vip"]}` (or `"vip, gold"`), and
/// `DELETE /customers/{id}/tags/{tag}`: a change of an existing customer's tags.
pub fn tag_change(
    customer_id: &str,
    tags: Vec<Value>,
    attach: bool,
) -> Result<CustomerUpsert, ItemFailure> {
    let customer_id = CustomerId::parse(customer_id)?;
    // More names than a customer may hold are refused before any is compared.
    if tags.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    let mut names: Vec<String> = Vec::with_capacity(tags.len());
    for (i, tag) in tags.into_iter().enumerate() {
        let Value::String(name) = tag else {
            return Err(ItemFailure::invalid(format!("tags[{i}]: must be a string")));
        };
        if name.trim().is_empty() {
            return Err(ItemFailure::invalid(format!(
                "tags[{i}]: must not be empty"
            )));
        }
        if name.chars().count() > 100 {
            return Err(ItemFailure::too_long(format_args!("tags[{i}]"), 100));
        }
        fields::no_control(&format_args!("tags[{i}]"), &name)?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(ItemFailure::missing("tags"));
    }
    Ok(CustomerUpsert {
        customer_id,
        patch: Profile::new(),
        tags: Some(if attach {
            TagChange::Attach(names)
        } else {
            TagChange::Remove(names)
        }),
    })
}

fn too_many_tags() -> ItemFailure {
    ItemFailure::new(
        wire::ErrorCode::LimitExceeded,
        format!("tags: a customer has at most {MAX_TAGS} tags"),
    )
}

/// Applies a tag change to a stored profile; `Err` when it would pass [`MAX_TAGS`].
pub fn change_tags(profile: &mut Profile, change: &TagChange) -> Result<(), ItemFailure> {
    let attributes = object_entry(profile, ATTRIBUTES);
    let mut tags: Vec<String> = match attributes.get("tags") {
        Some(Value::Array(t)) => t
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    match change {
        TagChange::Attach(new) => {
            for t in new {
                if !tags.contains(t) {
                    tags.push(t.clone());
                }
            }
            if tags.len() > MAX_TAGS {
                return Err(too_many_tags());
            }
        }
        TagChange::Remove(gone) => tags.retain(|t| !gone.contains(t)),
    }
    attributes.insert(
        "tags".into(),
        Value::Array(tags.into_iter().map(Value::String).collect()),
    );
    Ok(())
}

/// Tags as a comma-separated string (`"vip, gold"`, as Gameball v3 sends
/// them): each name trimmed, empty ones dropped.
pub fn split(text: &str) -> Vec<Value> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Value::String(t.to_owned()))
        .collect()
}

/// The `tags` of a `POST`/`DELETE /customers/{id}/tags` body: an array of
/// names, or a comma-separated string.
pub fn tag_list(body: Value) -> Result<Vec<Value>, ItemFailure> {
    let Value::Object(mut body) = body else {
        return Err(ItemFailure::new(
            wire::ErrorCode::MalformedPayload,
            "body: must be a JSON object with tags",
        ));
    };
    match body.remove("tags") {
        None | Some(Value::Null) => Err(ItemFailure::missing("tags")),
        Some(Value::String(text)) => Ok(split(&text)),
        Some(Value::Array(list)) => Ok(list),
        Some(_) => Err(ItemFailure::invalid(
            "tags: must be an array of tag names or a comma-separated string",
        )),
    }
}
