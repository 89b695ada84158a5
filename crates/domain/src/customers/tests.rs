//! The customers module's tests: examples, then properties.

use super::*;
mod examples {

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
