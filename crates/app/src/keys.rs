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

/// Checks keys an operator chose for the `default` tenant
/// (`LOYALBATCH_DEFAULT_APIKEY`, `LOYALBATCH_DEFAULT_SECRETKEY`).
pub fn check_chosen(apikey: &str, secret: &str) -> Result<(), crate::Error> {
    if apikey.chars().count() < MIN_APIKEY_CHARS {
        return Err(crate::Error::invalid(format!(
            "LOYALBATCH_DEFAULT_APIKEY is shorter than {MIN_APIKEY_CHARS} characters; choose a longer one, or leave both keys unset to have them generated"
        )));
    }
    if secret.chars().count() < MIN_SECRETKEY_CHARS {
        return Err(crate::Error::invalid(format!(
            "LOYALBATCH_DEFAULT_SECRETKEY is shorter than {MIN_SECRETKEY_CHARS} characters; choose a longer one, or leave both keys unset to have them generated"
        )));
    }
    Ok(())
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
}
