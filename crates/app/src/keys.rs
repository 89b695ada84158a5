//! API keys and secrets: generated at random, secrets stored only as SHA-256 and compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh apikey (public identifier) and secret key, hex.
pub fn generate() -> (String, String) {
    (
        hex::encode(rand::random::<[u8; 16]>()),
        hex::encode(rand::random::<[u8; 32]>()),
    )
}

/// What is stored for a secret. Secrets are 256 random bits (or an operator's
/// choice), so a plain SHA-256 suffices; a password hash would only slow every call.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` matches `stored_hash`, in time independent of where they differ.
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    hash_secret(secret)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Operator-chosen keys must be long enough to be secrets (generated ones are).
pub const MIN_APIKEY_CHARS: usize = 16;
pub const MIN_SECRETKEY_CHARS: usize = 32;
/// Distinct characters an operator-chosen key must have (a generated one has
/// about 16): `aaaa…` is long but guessable.
pub const MIN_DISTINCT_APIKEY_CHARS: usize = 6;
pub const MIN_DISTINCT_SECRET_CHARS: usize = 10;

/// Checks a key an operator chose, named by its variable (the message never
/// quotes the key): long enough, no space at either end (a copy-paste slip
/// that would lock the tenant out), and not of obviously low variety.
pub fn check_chosen_key(
    variable: &str,
    key: &str,
    min_chars: usize,
    min_distinct: usize,
) -> Result<(), crate::Error> {
    let refuse = |why: String| Err(crate::Error::invalid(format!("{variable} {why}")));
    if key.starts_with(char::is_whitespace) || key.ends_with(char::is_whitespace) {
        return refuse("starts or ends with a space; remove it".to_owned());
    }
    if key.chars().count() < min_chars {
        return refuse(format!(
            "is shorter than {min_chars} characters; choose a longer one, or leave both keys unset to have them generated"
        ));
    }
    let distinct = key
        .chars()
        .collect::<std::collections::HashSet<char>>()
        .len();
    if distinct < min_distinct {
        return refuse(format!(
            "has fewer than {min_distinct} different characters; choose a random one (e.g. openssl rand -hex 32)"
        ));
    }
    Ok(())
}

/// Checks the keys an operator chose for the `default` tenant
/// (`LOYALBATCH_DEFAULT_APIKEY`, `LOYALBATCH_DEFAULT_SECRETKEY`).
pub fn check_chosen(apikey: &str, secret: &str) -> Result<(), crate::Error> {
    check_chosen_key(
        "LOYALBATCH_DEFAULT_APIKEY",
        apikey,
        MIN_APIKEY_CHARS,
        MIN_DISTINCT_APIKEY_CHARS,
    )?;
    check_chosen_key(
        "LOYALBATCH_DEFAULT_SECRETKEY",
        secret,
        MIN_SECRETKEY_CHARS,
        MIN_DISTINCT_SECRET_CHARS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_their_hash() {
        let (apikey, secret) = generate();
        assert_eq!((apikey.len(), secret.len()), (32, 64));
        let stored = hash_secret(&secret);
        assert_ne!(stored, secret);
        assert!(secret_matches(&secret, &stored));
        assert!(!secret_matches("wrong", &stored));
        assert!(!secret_matches(&secret, ""));
    }

    #[test]
    fn chosen_keys_are_long_varied_and_unpadded() {
        let good = (
            "test-apikey-0123456789",
            "test-secretkey-0123456789abcdef01234567",
        );
        assert!(check_chosen(good.0, good.1).is_ok());
        let (apikey, secret) = generate();
        assert!(
            check_chosen(&apikey, &secret).is_ok(),
            "generated keys pass"
        );
        for (a, s, named, why) in [
            (
                "a".repeat(16),
                good.1.to_owned(),
                "LOYALBATCH_DEFAULT_APIKEY",
                "different characters",
            ),
            (
                good.0.to_owned(),
                "a".repeat(32),
                "LOYALBATCH_DEFAULT_SECRETKEY",
                "different characters",
            ),
            (
                good.0.to_owned(),
                " ".repeat(32),
                "LOYALBATCH_DEFAULT_SECRETKEY",
                "space",
            ),
            (
                format!("{} ", good.0),
                good.1.to_owned(),
                "LOYALBATCH_DEFAULT_APIKEY",
                "space",
            ),
            (
                good.0.to_owned(),
                format!("\t{}", good.1),
                "LOYALBATCH_DEFAULT_SECRETKEY",
                "space",
            ),
            (
                "short".to_owned(),
                good.1.to_owned(),
                "LOYALBATCH_DEFAULT_APIKEY",
                "shorter than",
            ),
        ] {
            let e = check_chosen(&a, &s).unwrap_err();
            let m = e.message();
            assert!(m.starts_with(named) && m.contains(why), "{m}");
            assert!(
                !m.contains(&s) || s.trim().is_empty(),
                "the secret is not quoted"
            );
        }
    }
}
