//! Console sessions: a signed cookie, and the CSRF token every form carries.
//!
//! The cookie is `<hex apikey>.<expires unix>.<hex nonce>.<hex mac>`, the MAC an
//! HMAC-SHA256 keyed with the tenant's stored secret hash: any node can check
//! it (nothing is stored), and rotating the tenant's secret ends every session.
//! A form's CSRF token is an HMAC of the session's nonce under the same key,
//! so it is bound to the session and cannot be guessed from outside it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "loyalbatch_console";
/// The login form's CSRF cookie (double submit: there is no session yet).
pub const LOGIN_COOKIE: &str = "loyalbatch_console_login";
/// How long a session lasts.
pub const LIFETIME_SECS: i64 = 8 * 3600;

fn mac(key: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            m.update(b"|");
        }
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// A session as its cookie says (signature not checked yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub apikey: String,
    pub expires: i64,
    nonce: String,
    mac: String,
}

/// A checked session: its CSRF token is derived from it.
#[derive(Debug, Clone)]
pub struct Session {
    pub expires: i64,
    nonce: String,
    csrf: String,
}

impl Session {
    /// What names this session (a logout ends it by this, on every node).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether a form's token is this session's (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

/// A signing key from the server's console key and a tenant's secret hash.
pub fn mix(server_key: &str, secret_hash: &str) -> String {
    hex::encode(mac(server_key, &[secret_hash.as_bytes()]))
}

/// A new session's cookie value for the tenant `apikey` (whose stored secret hash is `key`).
pub fn issue(apikey: &str, key: &str, now: i64, nonce: [u8; 16]) -> String {
    let apikey = hex::encode(apikey);
    let expires = now.saturating_add(LIFETIME_SECS).to_string();
    let nonce = hex::encode(nonce);
    let signature = hex::encode(mac(
        key,
        &[apikey.as_bytes(), expires.as_bytes(), nonce.as_bytes()],
    ));
    format!("{apikey}.{expires}.{nonce}.{signature}")
}

/// Reads a cookie value's parts; `None` when it is not one of ours.
pub fn claimed(value: &str) -> Option<Claimed> {
    let mut parts = value.split('.');
    let (apikey, expires, nonce, mac) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || nonce.len() != 32 || mac.len() != 64 {
        return None;
    }
    let apikey = String::from_utf8(hex::decode(apikey).ok()?).ok()?;
    Some(Claimed {
        apikey,
        expires: expires.parse().ok()?,
        nonce: nonce.to_owned(),
        mac: mac.to_owned(),
    })
}

/// Checks a claimed session against the tenant's key at `now`: signed by it,
/// not expired, and not claiming to last longer than a session can (whoever
/// signed it).
pub fn verify(c: &Claimed, key: &str, now: i64) -> Option<Session> {
    if c.expires <= now || c.expires > now.saturating_add(LIFETIME_SECS) {
        return None;
    }
    let expected = hex::encode(mac(
        key,
        &[
            hex::encode(&c.apikey).as_bytes(),
            c.expires.to_string().as_bytes(),
            c.nonce.as_bytes(),
        ],
    ));
    if !bool::from(expected.as_bytes().ct_eq(c.mac.as_bytes())) {
        return None;
    }
    Some(Session {
        expires: c.expires,
        nonce: c.nonce.clone(),
        csrf: hex::encode(mac(key, &[b"csrf", c.nonce.as_bytes()])),
    })
}

/// The `Set-Cookie` value of a session (or of its removal when `value` is empty).
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A cookie's value from a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_with_its_tenants_key_until_it_expires() {
        let value = issue("ak-1", "hash-1", 1000, [7; 16]);
        let c = claimed(&value).unwrap();
        assert_eq!(c.apikey, "ak-1");
        assert_eq!(c.expires, 1000 + LIFETIME_SECS);
        let s = verify(&c, "hash-1", 1001).unwrap();
        assert!(s.csrf_matches(s.csrf()));
        assert!(!s.csrf_matches("00"));
        // Another key (a rotated secret), expiry, or any change fails.
        assert!(verify(&c, "hash-2", 1001).is_none());
        assert!(verify(&c, "hash-1", 1000 + LIFETIME_SECS).is_none());
        let forged = value.replacen(&hex::encode("ak-1"), &hex::encode("ak-2"), 1);
        assert!(verify(&claimed(&forged).unwrap(), "hash-1", 1001).is_none());
        let extended = value.replacen(&(1000 + LIFETIME_SECS).to_string(), "99999999999", 1);
        assert!(verify(&claimed(&extended).unwrap(), "hash-1", 1001).is_none());
        for junk in ["", "a.b.c", "zz.1.00.00", &format!("{value}.x")] {
            assert!(claimed(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn a_server_key_changes_every_signature() {
        let plain = issue("k", "hash", 0, [3; 16]);
        let mixed = issue("k", &mix("server", "hash"), 0, [3; 16]);
        assert_ne!(plain, mixed);
        let c = claimed(&mixed).unwrap();
        assert!(
            verify(&c, "hash", 1).is_none(),
            "the stored hash alone cannot forge it"
        );
        assert!(verify(&c, &mix("server", "hash"), 1).is_some());
        assert!(verify(&c, &mix("other", "hash"), 1).is_none());
    }

    #[test]
    fn a_session_signed_to_outlive_a_session_is_refused() {
        // What a forger with the signing key (the stored hash) would make: ten years.
        let ten_years = issue("k", "h", 0, [4; 16]).replacen(
            &LIFETIME_SECS.to_string(),
            &(10 * 365 * 86_400).to_string(),
            1,
        );
        let c = claimed(&ten_years).unwrap();
        let resigned = format!(
            "{}.{}.{}.{}",
            hex::encode("k"),
            c.expires,
            hex::encode([4u8; 16]),
            hex::encode(mac(
                "h",
                &[
                    hex::encode("k").as_bytes(),
                    c.expires.to_string().as_bytes(),
                    hex::encode([4u8; 16]).as_bytes()
                ]
            ))
        );
        assert!(verify(&claimed(&resigned).unwrap(), "h", 1).is_none());
        // Its own lifetime verifies, and names its nonce.
        let s = verify(&claimed(&issue("k", "h", 0, [4; 16])).unwrap(), "h", 1).unwrap();
        assert_eq!(s.nonce(), hex::encode([4u8; 16]));
    }

    #[test]
    fn each_session_has_its_own_csrf_token() {
        let a = verify(&claimed(&issue("k", "h", 0, [1; 16])).unwrap(), "h", 1).unwrap();
        let b = verify(&claimed(&issue("k", "h", 0, [2; 16])).unwrap(), "h", 1).unwrap();
        assert_ne!(a.csrf(), b.csrf());
        assert!(!a.csrf_matches(b.csrf()));
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_when_asked() {
        let c = set_cookie(COOKIE, "v", 60, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(set_cookie(COOKIE, "v", 60, true).ends_with("; Secure"));
        assert_eq!(
            cookie("a=1; loyalbatch_console=xyz; b=2", COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie("a=1", COOKIE), None);
    }
}
