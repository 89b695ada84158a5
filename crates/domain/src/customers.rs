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

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

#[cfg(test)]
mod tests {

    #[test]
    fn tags_are_attached_once_and_removed() {
        let mut profile: Profile = serde_json::from_value(json!({"email": "a@b.c",
            "customerAttributes": {"tags": ["vip"], "displayName": "A"}}))
        .unwrap();
        let attach =
            tag_change("c", vec![json!("gold"), json!("vip"), json!("gold")], true).unwrap();
        assert_eq!(
            attach.tags,
            Some(TagChange::Attach(vec!["gold".into(), "vip".into()]))
        );
        change_tags(&mut profile, attach.tags.as_ref().unwrap()).unwrap();
        assert_eq!(profile[ATTRIBUTES]["tags"], json!(["vip", "gold"]));
        let remove = tag_change("c", vec![json!("vip")], false).unwrap();
        change_tags(&mut profile, remove.tags.as_ref().unwrap()).unwrap();
        assert_eq!(profile[ATTRIBUTES]["tags"], json!(["gold"]));
        assert_eq!(profile[ATTRIBUTES]["displayName"], "A");
        assert_eq!(
            tag_change("c", vec![], true).unwrap_err().code,
            ErrorCode::MissingField
        );
        assert_eq!(
            tag_change("c", vec![json!(5)], true).unwrap_err().code,
            ErrorCode::InvalidValue
        );
        let long = "t".repeat(101);
        assert_eq!(
            tag_change("c", vec![json!(long)], true).unwrap_err().code,
            ErrorCode::LimitExceeded
        );
        let many: Vec<Value> = (0..MAX_TAGS).map(|i| json!(format!("t{i}"))).collect();
        let mut full = Profile::new();
        change_tags(
            &mut full,
            &tag_change("c", many, true).unwrap().tags.unwrap(),
        )
        .unwrap();
        let one_more = tag_change("c", vec![json!("extra")], true)
            .unwrap()
            .tags
            .unwrap();
        assert_eq!(
            change_tags(&mut full, &one_more).unwrap_err().code,
            ErrorCode::LimitExceeded
        );
    }

    use super::*;
    use serde_json::json;
    use wire::ErrorCode;

    fn failure(item: Value) -> ItemFailure {
        parse(item).unwrap_err().failure
    }

    #[test]
    fn seed_example_shorthands_map_to_attributes() {
        let u = parse(json!({
            "customerId": "12345", "email": "john.doe@example.com", "name": "John Doe",
            "gender": "M", "dateOfBirth": "1990-01-01", "joinDate": "2022-01-01",
            "tags": ["vip", "newsletter_subscriber"],
            "custom": {"favorite_color": "blue", "loyalty_points": 1500}
        }))
        .unwrap();
        assert_eq!(u.customer_id.as_str(), "12345");
        assert_eq!(
            Value::Object(u.patch),
            json!({"email": "john.doe@example.com", "customerAttributes": {
                "displayName": "John Doe", "gender": "M", "dateOfBirth": "1990-01-01",
                "joinDate": "2022-01-01", "tags": ["vip", "newsletter_subscriber"],
                "custom": {"favorite_color": "blue", "loyalty_points": 1500}}})
        );
    }

    #[test]
    fn nested_attributes_win_over_top_level_shorthands() {
        let u = parse(json!({"customerId": "1", "name": "Short",
            "customerAttributes": {"displayName": "Long"}}))
        .unwrap();
        assert_eq!(u.patch[ATTRIBUTES]["displayName"], "Long");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let u = parse(
            json!({"customerId": "1", "points": 1_000_000, "gameballId": 7,
            "customerAttributes": {"balance": 5}}),
        )
        .unwrap();
        assert!(u.patch.is_empty());
    }

    #[test]
    fn invalid_fields_fail_with_their_path_and_code() {
        let e = failure(
            json!({"customerId": "1", "customerAttributes": {"dateOfBirth": "1990-13-01"}}),
        );
        assert_eq!(e.code, ErrorCode::InvalidValue);
        assert_eq!(
            e.message,
            "customerAttributes.dateOfBirth: not a date (YYYY-MM-DD)"
        );
        let e = failure(json!({"customerId": "1", "joinDate": "yesterday"}));
        assert_eq!(e.message, "joinDate: not a date (YYYY-MM-DD)");
        let e = failure(json!({"customerId": "1", "customerAttributes": {"channel": "fax"}}));
        assert!(
            e.message
                .starts_with("customerAttributes.channel: must be one of")
        );
        let e = failure(json!({"customerId": "1", "guest": "no"}));
        assert_eq!(e.message, "guest: must be true or false");
        let e = failure(json!({"customerId": "1", "email": "x".repeat(256)}));
        assert_eq!(e.code, ErrorCode::LimitExceeded);
        let e = failure(json!({"customerId": "1", "customerAttributes": {"totalSpent": -5}}));
        assert_eq!(
            e.message,
            "customerAttributes.totalSpent: must not be negative"
        );
        let e = failure(json!({"customerId": "1", "customerAttributes": "vip"}));
        assert_eq!(e.message, "customerAttributes: must be an object");
        let e = failure(json!({"customerId": "1", "custom": [1]}));
        assert_eq!(e.message, "custom: must be an object");
    }

    #[test]
    fn missing_or_bad_customer_id_fails_and_is_reported_as_given() {
        let r = parse(json!({"email": "a@b.c"})).unwrap_err();
        let (reported, e) = (r.customer_id, r.failure);
        assert_eq!((reported, e.code), (None, ErrorCode::MissingField));
        let r = parse(json!({"customerId": ""})).unwrap_err();
        let (reported, e) = (r.customer_id, r.failure);
        assert_eq!(
            (reported.as_deref(), e.code),
            (Some(""), ErrorCode::InvalidValue)
        );
        let r = parse(json!("12345")).unwrap_err();
        let (_, e) = (r.customer_id, r.failure);
        assert_eq!(e.message, "item: must be a JSON object");
    }

    #[test]
    fn merge_overwrites_present_keeps_absent_and_merges_custom_by_key() {
        let mut profile = parse(
            json!({"customerId": "1", "email": "old@x.io", "mobile": "1",
            "customerAttributes": {"city": "Cairo", "custom": {"a": 1, "b": 2}}}),
        )
        .unwrap()
        .patch;
        let mut stored = Profile::new();
        merge(&mut stored, profile);
        profile = stored;
        let patch = parse(json!({"customerId": "1", "email": "new@x.io",
            "customerAttributes": {"country": "EG", "custom": {"b": 3, "c": 4}}}))
        .unwrap()
        .patch;
        merge(&mut profile, patch);
        assert_eq!(
            Value::Object(profile),
            json!({"email": "new@x.io", "mobile": "1", "customerAttributes": {
                "city": "Cairo", "custom": {"a": 1, "b": 3, "c": 4}, "country": "EG"}})
        );
    }

    #[test]
    fn null_clears_a_field_and_a_custom_key() {
        let mut profile = Profile::new();
        merge(
            &mut profile,
            parse(json!({"customerId": "1", "email": "a@b.c", "custom": {"a": 1, "b": 2}}))
                .unwrap()
                .patch,
        );
        merge(
            &mut profile,
            parse(json!({"customerId": "1", "email": null, "custom": {"a": null}}))
                .unwrap()
                .patch,
        );
        assert_eq!(
            Value::Object(profile),
            json!({"customerAttributes": {"custom": {"b": 2}}})
        );
    }

    #[test]
    fn a_new_profile_keeps_no_nulls_at_any_level() {
        let mut profile = Profile::new();
        let patch = parse(json!({"customerId": "1", "email": null, "mobile": "5",
            "customerAttributes": {"city": null, "zip": "11", "custom": {"a": null, "b": 1}}}))
        .unwrap()
        .patch;
        merge(&mut profile, patch);
        assert_eq!(
            Value::Object(profile),
            json!({"mobile": "5", "customerAttributes": {"zip": "11", "custom": {"b": 1}}})
        );
    }

    #[test]
    fn tags_are_replaced_not_appended() {
        let mut profile = Profile::new();
        merge(
            &mut profile,
            parse(json!({"customerId": "1", "tags": ["a", "b"]}))
                .unwrap()
                .patch,
        );
        merge(
            &mut profile,
            parse(json!({"customerId": "1", "tags": ["c"]}))
                .unwrap()
                .patch,
        );
        assert_eq!(profile[ATTRIBUTES]["tags"], json!(["c"]));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            "[a-z]{0,3}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from)
        ]
    }

    fn flat(keys: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
        proptest::collection::btree_map(proptest::sample::select(keys), leaf(), 0..keys.len())
            .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn patch() -> impl Strategy<Value = Profile> {
        (
            flat(&["email", "mobile", "guest"]),
            flat(&["city", "zip", "gender"]),
            proptest::option::of(flat(&["a", "b", "c"])),
            any::<bool>(),
        )
            .prop_map(|(mut top, mut attrs, custom, with_attrs)| {
                if let Some(custom) = custom {
                    attrs.insert(CUSTOM.into(), Value::Object(custom));
                }
                if with_attrs {
                    top.insert(ATTRIBUTES.into(), Value::Object(attrs));
                }
                top
            })
    }

    proptest! {
        /// A new customer's profile (the fast path) is what the general merge gives.
        #[test]
        fn merging_into_nothing_equals_the_general_merge(p in patch()) {
            let mut fast = Profile::new();
            merge(&mut fast, p.clone());
            // The general path: merge into a profile holding one unrelated key, then drop it.
            let mut general = Profile::new();
            general.insert("zzz".into(), Value::from(1));
            merge(&mut general, p);
            general.remove("zzz");
            // The general path may leave empty containers where the patch had only nulls.
            prune_empty(&mut general);
            prune_empty(&mut fast);
            prop_assert_eq!(fast, general);
        }

        /// Applying the same patch twice changes nothing the second time.
        #[test]
        fn merge_is_idempotent(base in patch(), p in patch()) {
            let mut once = Profile::new();
            merge(&mut once, base);
            merge(&mut once, p.clone());
            let mut twice = once.clone();
            merge(&mut twice, p);
            prop_assert_eq!(once, twice);
        }
    }

    fn prune_empty(profile: &mut Profile) {
        if let Some(Value::Object(attrs)) = profile.get_mut(ATTRIBUTES) {
            if matches!(attrs.get(CUSTOM), Some(Value::Object(c)) if c.is_empty()) {
                attrs.remove(CUSTOM);
            }
            if attrs.is_empty() {
                profile.remove(ATTRIBUTES);
            }
        }
    }
}
