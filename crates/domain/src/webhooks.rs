//! Webhooks' pure rules: the events there are, which URLs may receive them,
//! how a delivery is signed, and when a failed delivery is tried again.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use wire::JobState;

/// The events a webhook endpoint can subscribe to: one per final job state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Completed,
    Failed,
    Stopped,
}

impl EventType {
    pub const ALL: [EventType; 3] = [EventType::Completed, EventType::Failed, EventType::Stopped];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Completed => "batch.completed",
            EventType::Failed => "batch.failed",
            EventType::Stopped => "batch.stopped",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The event a job reaching `state` sends; `None` while it is not final.
    pub fn of_state(state: JobState) -> Option<EventType> {
        match state {
            JobState::Completed => Some(EventType::Completed),
            JobState::Failed => Some(EventType::Failed),
            JobState::Stopped => Some(EventType::Stopped),
            JobState::Queued | JobState::Running => None,
        }
    }
}

/// The id of the one event a job sends (the same at every endpoint).
pub fn event_id(job_id: i64) -> String {
    format!("evt_{job_id}")
}

/// Longest accepted endpoint URL, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// Endpoints one tenant may register.
pub const MAX_ENDPOINTS: usize = 16;

/// Why an endpoint URL is refused (a sentence naming the rule).
pub type UrlRefusal = String;

/// Checks an endpoint URL's shape: absolute `http`/`https`, a host, no
/// credentials or fragment, at most [`MAX_URL_CHARS`]. Returns the URL as it
/// will be called (normalized). Whether its host may be called is
/// [`address_allowed`]'s question, asked of every address it resolves to.
pub fn parse_endpoint(text: &str) -> Result<url::Url, UrlRefusal> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let url = url::Url::parse(text).map_err(|e| format!("is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if url.host().is_none() {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials (they would be shown in listings)".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".into());
    }
    Ok(url)
}

/// The host's address when the URL names one literally (`http://10.0.0.1/`, `http://[::1]/`).
pub fn literal_address(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(_) => None,
    }
}

/// Whether deliveries may go to `ip` without `--webhook-allow-private`: public
/// unicast only. Refused: loopback, private (10/8, 172.16/12, 192.168/16,
/// fc00::/7), link-local (169.254/16 — the cloud metadata address
/// 169.254.169.254 among them — and fe80::/10), shared (100.64/10),
/// unspecified, broadcast, multicast, documentation and reserved ranges, and
/// IPv6 forms that embed such an IPv4 address (mapped, compatible, 6to4, NAT64).
pub fn address_allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => v4_allowed(a),
        IpAddr::V6(a) => v6_allowed(a),
    }
}

fn v4_allowed(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || o0 == 0
        || (o0 == 100 && (64..128).contains(&o1))
        || (o0 == 192 && o1 == 0 && o2 == 0)
        || (o0 == 198 && (o1 == 18 || o1 == 19))
        || o0 >= 240)
}

fn v6_allowed(a: Ipv6Addr) -> bool {
    if let Some(v4) = a.to_ipv4_mapped() {
        return v4_allowed(v4);
    }
    let s = a.segments();
    // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[..6] == [0; 6] && !a.is_loopback() && !a.is_unspecified() {
        return v4_allowed(embedded(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return v4_allowed(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return v4_allowed(embedded(s[1], s[2]));
    }
    // IPv4-translated (::ffff:0:a.b.c.d).
    if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        return v4_allowed(embedded(s[6], s[7]));
    }
    !(a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local (fc00::/7, AWS's fd00:ec2::254 among them)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo (tunnels to an IPv4 address)
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // NAT64 local use (64:ff9b:1::/48)
        || s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only
}

/// The value of the `Loyalbatch-Signature` header of `body` sent at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// A receiver's check of a `Loyalbatch-Signature` header: a `v1` matches (in
/// constant time) and `t` is within `tolerance` of `now` (replays of old
/// deliveries are refused).
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> bool {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let age = now.abs_diff(t);
    if age > tolerance.as_secs() {
        return false;
    }
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    candidates.iter().any(|c| m.clone().verify_slice(c).is_ok())
}

/// A new signing secret from 32 random bytes: `whsec_` and 64 hex digits.
pub fn secret_from(random: [u8; 32]) -> String {
    format!("whsec_{}", hex::encode(random))
}

/// When a failed delivery is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The wait after the first failure; each later failure doubles it.
    pub first: Duration,
    /// The longest wait between two attempts.
    pub longest: Duration,
    /// How long after the event attempts go on; then the delivery is `failed`.
    pub give_up_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            first: Duration::from_secs(5),
            longest: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetrySchedule {
    /// The wait after the `failures`-th failed attempt (1 for the first):
    /// `first × 2^(failures-1)`, at most `longest`, scaled by `jitter` (a factor
    /// in 0.8..=1.2 drawn by the caller, so retries of many deliveries spread out).
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(40);
        let base = self
            .first
            .checked_mul(1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.longest)
            .min(self.longest);
        Duration::try_from_secs_f64(base.as_secs_f64() * jitter.clamp(0.8, 1.2)).unwrap_or(base)
    }
}

/// How an endpoint that keeps failing is paused, so its deliveries stop
/// taking the deliverer's slots (they wait; none is lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointBackoff {
    /// Failures in a row before the first pause.
    pub after: u32,
    /// The first pause; each later failure in a row doubles it.
    pub first: Duration,
    /// The longest pause.
    pub longest: Duration,
}

impl Default for EndpointBackoff {
    fn default() -> Self {
        EndpointBackoff {
            after: 3,
            first: Duration::from_secs(5),
            longest: Duration::from_secs(600),
        }
    }
}

impl EndpointBackoff {
    /// The pause after `failures` failures in a row: none before `after`, then
    /// `first × 2^(failures - after)`, at most `longest`.
    pub fn pause(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.after)?;
        let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
        Some(
            self.first
                .checked_mul(factor)
                .unwrap_or(self.longest)
                .min(self.longest),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_endpoint_pauses_after_a_few_failures_doubling_to_a_bound() {
        let b = EndpointBackoff::default();
        assert_eq!((b.pause(0), b.pause(2)), (None, None));
        assert_eq!(b.pause(3), Some(Duration::from_secs(5)));
        assert_eq!(b.pause(4), Some(Duration::from_secs(10)));
        assert_eq!(b.pause(10), Some(Duration::from_secs(600)));
        assert_eq!(b.pause(u32::MAX), Some(Duration::from_secs(600)));
    }

    #[test]
    fn event_types_follow_final_states() {
        assert_eq!(
            EventType::of_state(JobState::Completed),
            Some(EventType::Completed)
        );
        assert_eq!(
            EventType::of_state(JobState::Failed),
            Some(EventType::Failed)
        );
        assert_eq!(
            EventType::of_state(JobState::Stopped),
            Some(EventType::Stopped)
        );
        assert_eq!(EventType::of_state(JobState::Running), None);
        assert_eq!(EventType::of_state(JobState::Queued), None);
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
        }
        assert_eq!(EventType::parse("batch.created"), None);
        assert_eq!(event_id(42), "evt_42");
    }

    #[test]
    fn endpoint_urls_are_http_with_a_host_and_nothing_secret() {
        assert_eq!(
            parse_endpoint("https://hooks.example.com/loyalty?x=1")
                .unwrap()
                .as_str(),
            "https://hooks.example.com/loyalty?x=1"
        );
        assert!(parse_endpoint("http://203.0.113.9:8080/").is_ok());
        for (bad, says) in [
            ("ftp://example.com/", "http or https"),
            ("file:///etc/passwd", "http or https"),
            ("/relative", "absolute"),
            ("https://user:pw@example.com/", "credentials"),
            ("https://example.com/#frag", "fragment"),
            ("javascript:alert(1)", "http or https"),
        ] {
            let e = parse_endpoint(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(parse_endpoint(&long).unwrap_err().contains("2048"));
    }

    #[test]
    fn literal_hosts_are_read() {
        let u = parse_endpoint("http://[::1]:9/").unwrap();
        assert_eq!(literal_address(&u), Some("::1".parse().unwrap()));
        let u = parse_endpoint("http://127.0.0.1/").unwrap();
        assert_eq!(literal_address(&u), Some("127.0.0.1".parse().unwrap()));
        let u = parse_endpoint("http://example.com/").unwrap();
        assert_eq!(literal_address(&u), None);
    }

    #[test]
    fn only_public_addresses_are_allowed() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "ff02::1",
            "::ffff:0:7f00:1",
            "64:ff9b:1::a00:1",
            "2001:0:4136:e378::1",
        ] {
            assert!(!address_allowed(refused.parse().unwrap()), "{refused}");
        }
        for allowed in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::",
        ] {
            assert!(address_allowed(allowed.parse().unwrap()), "{allowed}");
        }
    }

    #[test]
    fn signatures_verify_and_refuse_tampering_and_age() {
        let body = br#"{"id":"evt_1"}"#;
        let header = signature("whsec_k", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        let tolerance = Duration::from_secs(300);
        assert!(verify_signature(
            "whsec_k",
            &header,
            body,
            1_700_000_100,
            tolerance
        ));
        assert!(!verify_signature(
            "whsec_other",
            &header,
            body,
            1_700_000_100,
            tolerance
        ));
        assert!(!verify_signature(
            "whsec_k",
            &header,
            br#"{"id":"evt_2"}"#,
            1_700_000_100,
            tolerance
        ));
        assert!(!verify_signature(
            "whsec_k",
            &header,
            body,
            1_700_000_301,
            tolerance
        ));
        assert!(!verify_signature(
            "whsec_k",
            "v1=00",
            body,
            1_700_000_000,
            tolerance
        ));
        // A known vector: HMAC-SHA256("key", "1.{}").
        let known = signature("key", 1, b"{}");
        let mut m = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        m.update(b"1.{}");
        assert_eq!(
            known,
            format!("t=1,v1={}", hex::encode(m.finalize().into_bytes()))
        );
        assert!(secret_from([7; 32]).starts_with("whsec_0707"));
        assert_eq!(secret_from([7; 32]).len(), 6 + 64);
    }

    #[test]
    fn retries_double_up_to_the_longest_wait_with_jitter() {
        let s = RetrySchedule::default();
        assert_eq!(s.delay(1, 1.0), Duration::from_secs(5));
        assert_eq!(s.delay(2, 1.0), Duration::from_secs(10));
        assert_eq!(s.delay(3, 1.0), Duration::from_secs(20));
        assert_eq!(s.delay(10, 1.0), Duration::from_secs(2560));
        assert_eq!(s.delay(11, 1.0), Duration::from_secs(3600));
        assert_eq!(s.delay(u32::MAX, 1.0), Duration::from_secs(3600));
        assert_eq!(s.delay(1, 0.8), Duration::from_secs(4));
        assert_eq!(s.delay(1, 1.2), Duration::from_secs(6));
        // Jitter beyond ±20 % is clamped.
        assert_eq!(s.delay(1, 5.0), Duration::from_secs(6));
        assert_eq!(s.delay(0, 1.0), Duration::from_secs(5));
    }
}
