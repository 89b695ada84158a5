//! Customer upserts (SPEC §5.1): parsing an item into a validated profile patch, and merging it into a stored profile.

use crate::fields::{self, Kind};
use crate::ids::{CustomerId, reported_customer_id};
use crate::outcome::{ItemFailure, ParseResult, Rejected};
use serde_json::{Map, Value};

/// A customer profile as stored and shown: the API's own shape, e.g.
/// `{"email":…, "guest":…, "customerAttributes":{"displayName":…, "tags":[…], "custom":{…}}}`.
pub type Profile = Map<String, Value>;

pub const ATTRIBUTES: &str = "customerAttributes";
pub const CUSTOM: &str = "custom";

pub const TOP_LEVEL: &[(&str, Kind)] = &[
    ("email", Kind::Text(255)),
    ("mobile", Kind::Text(50)),
    ("deviceToken", Kind::Text(4096)),
    ("osType", Kind::Text(50)),
    ("referrerCode", Kind::Text(100)),
    ("guest", Kind::Bool),
];

pub const CHANNELS: &[&str] = &["mobile", "pos", "web", "callcenter"];

pub const ATTRIBUTE_FIELDS: &[(&str, Kind)] = &[
    ("displayName", Kind::Text(255)),
    ("firstName", Kind::Text(255)),
    ("lastName", Kind::Text(255)),
    ("email", Kind::Text(255)),
    ("gender", Kind::Text(50)),
    ("mobile", Kind::Text(50)),
    ("dateOfBirth", Kind::Date),
    ("joinDate", Kind::Date),
    ("country", Kind::Text(100)),
    ("city", Kind::Text(100)),
    ("zip", Kind::Text(20)),
    ("preferredLanguage", Kind::Text(20)),
    ("source", Kind::Text(255)),
    ("utms", Kind::Array),
    ("devices", Kind::Array),
    ("paymentMethods", Kind::Array),
    ("totalSpent", Kind::NonNegativeDecimal),
    ("lastOrderDate", Kind::DateOrTimestamp),
    ("totalOrders", Kind::NonNegativeInteger),
    ("avgOrderAmount", Kind::NonNegativeDecimal),
    ("channel", Kind::OneOf(CHANNELS)),
    ("custom", Kind::Object),
    ("tags", Kind::Tags),
];

/// The seed example's top-level shorthands and the attribute each one sets.
pub const TOP_LEVEL_ALIASES: &[(&str, &str)] = &[
    ("name", "displayName"),
    ("gender", "gender"),
    ("dateOfBirth", "dateOfBirth"),
    ("joinDate", "joinDate"),
    ("tags", "tags"),
    ("custom", "custom"),
];

/// A validated upsert: which customer, and the patch to merge into their profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerUpsert {
    pub customer_id: CustomerId,
    pub patch: Profile,
    /// Tags attached to or removed from an existing customer (`/customers/{id}/tags`).
    pub tags: Option<TagChange>,
}

/// Tags to attach or remove, each kept once, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagChange {
    Attach(Vec<String>),
    Remove(Vec<String>),
}

mod tags;
pub use tags::{MAX_TAGS, change_tags, split as split_tags, tag_change, tag_list};

/// Parses one item of a `customers` batch or a `POST /customers` body.
/// Unknown fields are ignored; every known field is checked and an error names its path.
pub fn parse(item: Value) -> ParseResult<CustomerUpsert> {
    let Value::Object(obj) = item else {
        return Err(Rejected::new(
            None,
            ItemFailure::invalid("item: must be a JSON object"),
        ));
    };
    let customer_id = match CustomerId::from_item(&obj) {
        Ok(id) => id,
        Err(f) => return Err(Rejected::new(reported_customer_id(&obj), f)),
    };
    match parse_fields(obj) {
        Ok(patch) => Ok(CustomerUpsert {
            customer_id,
            patch,
            tags: None,
        }),
        Err(f) => Err(Rejected::new(Some(customer_id.into_string()), f)),
    }
}

/// Validates the known fields and drops the rest, reusing the item's own maps
/// (no second tree is built: this runs for every item of every chunk).
fn parse_fields(mut obj: Map<String, Value>) -> Result<Profile, ItemFailure> {
    let mut attributes = match obj.remove(ATTRIBUTES) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(given)) => given,
        Some(_) => {
            return Err(ItemFailure::invalid(format!(
                "{ATTRIBUTES}: must be an object"
            )));
        }
    };
    attributes.retain(|name, _| attribute_kind(name).is_some());
    for (name, value) in &attributes {
        let kind = attribute_kind(name).expect("kept only known attributes");
        fields::check(&format_args!("{ATTRIBUTES}.{name}"), kind, value)?;
    }
    // The top-level shorthands; nested attributes win over them.
    for (alias, attribute) in TOP_LEVEL_ALIASES {
        if let Some(value) = obj.remove(*alias) {
            let kind =
                attribute_kind(attribute).expect("every shorthand targets a known attribute");
            fields::check(alias, kind, &value)?;
            attributes.entry((*attribute).to_owned()).or_insert(value);
        }
    }
    obj.retain(|key, _| top_level_kind(key).is_some());
    for (key, value) in &obj {
        let kind = top_level_kind(key).expect("kept only known fields");
        fields::check(key, kind, value)?;
    }
    if !attributes.is_empty() {
        obj.insert(ATTRIBUTES.to_owned(), Value::Object(attributes));
    }
    Ok(obj)
}

fn top_level_kind(name: &str) -> Option<Kind> {
    TOP_LEVEL
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, kind)| *kind)
}

fn attribute_kind(name: &str) -> Option<Kind> {
    ATTRIBUTE_FIELDS
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, kind)| *kind)
}

/// Merges `patch` into `profile`: present fields overwrite, absent fields keep
/// their value, `null` clears a field, and `customerAttributes` and its `custom`
/// merge key by key (RFC 7396 merge-patch, two levels deep).
/// Whether a patch sets any of `customerAttributes.custom` (its merged size is then checked).
pub fn touches_custom(patch: &Profile) -> bool {
    patch
        .get(ATTRIBUTES)
        .and_then(|a| a.get(CUSTOM))
        .is_some_and(|c| !c.is_null())
}

/// Refuses a profile whose merged `custom` passes [`limits::MAX_CUSTOM_BYTES`].
pub fn check_custom(profile: &Profile) -> Result<(), ItemFailure> {
    let Some(custom) = profile.get(ATTRIBUTES).and_then(|a| a.get(CUSTOM)) else {
        return Ok(());
    };
    if crate::limits::json_bytes(custom) > crate::limits::MAX_CUSTOM_BYTES {
        return Err(ItemFailure::new(
            wire::ErrorCode::LimitExceeded,
            format!(
                "customerAttributes.custom: the customer's custom attributes would take more than {} bytes",
                crate::limits::MAX_CUSTOM_BYTES
            ),
        ));
    }
    Ok(())
}

pub fn merge(profile: &mut Profile, mut patch: Profile) {
    if profile.is_empty() {
        // A new customer: the patch is the profile, minus the nulls that would clear nothing.
        strip_nulls(&mut patch);
        *profile = patch;
        return;
    }
    for (key, value) in patch {
        match value {
            Value::Object(attrs) if key == ATTRIBUTES => {
                let target = object_entry(profile, ATTRIBUTES);
                for (akey, avalue) in attrs {
                    match avalue {
                        Value::Object(custom) if akey == CUSTOM => {
                            merge_flat(object_entry(target, CUSTOM), custom);
                        }
                        other => set_or_clear(target, akey, other),
                    }
                }
            }
            other => set_or_clear(profile, key, other),
        }
    }
}

fn strip_nulls(patch: &mut Profile) {
    patch.retain(|_, v| !v.is_null());
    if let Some(Value::Object(attrs)) = patch.get_mut(ATTRIBUTES) {
        attrs.retain(|_, v| !v.is_null());
        if let Some(Value::Object(custom)) = attrs.get_mut(CUSTOM) {
            custom.retain(|_, v| !v.is_null());
        }
    }
}

fn merge_flat(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        set_or_clear(target, k, v);
    }
}

fn set_or_clear(target: &mut Map<String, Value>, key: String, value: Value) {
    if value.is_null() {
        target.remove(&key);
    } else {
        target.insert(key, value);
    }
}

pub(crate) fn object_entry<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

#[cfg(test)]
mod tests;
