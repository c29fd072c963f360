//! Webhook rules, pure: which addresses a delivery may reach, the event id, the signature, the
//! retry schedule and the event words a webhook may subscribe to.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use uuid::Uuid;

use super::need::ActionKind;

/// Events that are not actions a caller takes but that a need's history holds too.
pub const OTHER_EVENTS: &[&str] = &[
    "file",
    "auto_escalate",
    "sla_breached",
    "handover",
    "allocate",
    "transfer",
    "attach",
];

/// Subscribes to every event.
pub const EVERY_EVENT: &str = "*";

/// Whether a webhook may subscribe to `word`: an action, another event of the history, or `*`.
pub fn is_event_word(word: &str) -> bool {
    word == EVERY_EVENT || ActionKind::parse(word).is_some() || OTHER_EVENTS.contains(&word)
}

/// The words a webhook may subscribe to, for messages.
pub fn event_words() -> String {
    format!("{}, {}, or *", ActionKind::words(), OTHER_EVENTS.join(", "))
}

/// Attempts before a delivery is dead.
pub const MAX_ATTEMPTS: i32 = 10;

/// The wait after each failed attempt, in units of the base delay (1 s in production): a
/// geometric series (×e, rounded) from 1 s to 1 h over the nine waits between ten attempts,
/// so a receiver down for an hour and a half still gets every event.
const BACKOFF_STEPS: [u64; 9] = [1, 3, 8, 22, 60, 180, 480, 1320, 3600];

/// The wait before the next attempt after `attempt` (1-based) failed, or `None` when that was
/// the last: the delivery is dead.
pub fn retry_after(attempt: i32, base: Duration) -> Option<Duration> {
    if !(1..MAX_ATTEMPTS).contains(&attempt) {
        return None;
    }
    let step = BACKOFF_STEPS.get((attempt - 1) as usize).copied()?;
    base.checked_mul(u32::try_from(step).ok()?)
}

/// The event's own id: derived from (need, seq), so it is the same for every webhook and every
/// retry, without a column in the (hash-chained) history. A UUIDv8 over SHA-256.
pub fn event_id(need_id: Uuid, seq: i32) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"zhucan need event\0");
    h.update(need_id.as_bytes());
    h.update(seq.to_be_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// `sha256=<hex HMAC-SHA256 of body under secret>`, the `X-Zhucan-Signature` value.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Checks a webhook URL: http(s), with a host, and (unless `allow_private`) not a literal
/// address in a refused range nor a `localhost` name. Names are resolved and checked again at
/// each delivery; this is the early, pure part of the rule.
pub fn parse_target(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    let host = url.host().ok_or("must name a host")?;
    if allow_private {
        return Ok(url);
    }
    let refused = match host {
        url::Host::Ipv4(ip) => refused_address(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => refused_address(IpAddr::V6(ip)),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then_some("loopback")
        }
    };
    match refused {
        Some(why) => Err(format!(
            "targets a {why} address; webhooks go to public addresses only"
        )),
        None => Ok(url),
    }
}

/// Why an address may not be a webhook target, or `None` when it may: loopback, private
/// (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10), multicast, unspecified, and the
/// other ranges that reach no public host (broadcast, shared 100.64/10, IPv4 in IPv6).
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refused_v4(v4),
            None => refused_v6(v6),
        },
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("private (unique local)")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if ip.to_ipv4().is_some() {
        // ::a.b.c.d, the deprecated IPv4-compatible form: judged as not public
        Some("IPv4-compatible")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_runs_from_one_second_to_one_hour_over_ten_attempts() {
        let base = Duration::from_secs(1);
        assert_eq!(retry_after(1, base), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(9, base), Some(Duration::from_secs(3600)));
        assert_eq!(retry_after(10, base), None);
        let waits: Vec<_> = (1..MAX_ATTEMPTS)
            .filter_map(|a| retry_after(a, base))
            .collect();
        assert_eq!(waits.len(), 9);
        assert!(waits.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            retry_after(2, Duration::from_millis(10)),
            Some(Duration::from_millis(30))
        );
    }

    #[test]
    fn the_event_id_depends_on_need_and_seq_only() {
        let n = Uuid::now_v7();
        assert_eq!(event_id(n, 1), event_id(n, 1));
        assert_ne!(event_id(n, 1), event_id(n, 2));
        assert_eq!(event_id(n, 1).get_version_num(), 8);
    }

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_body() {
        // RFC 4231 test case 2
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn internal_ranges_are_refused_and_public_ones_allowed() {
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = bad.parse().expect("ip");
            assert!(refused_address(ip).is_some(), "{bad}");
        }
        for good in ["8.8.8.8", "1.1.1.1", "203.0.114.5", "2001:4860:4860::8888"] {
            let ip: IpAddr = good.parse().expect("ip");
            assert_eq!(refused_address(ip), None, "{good}");
        }
    }

    #[test]
    fn targets_must_be_public_http_urls() {
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://0x7f.1/",
            "http://[::1]:8080/",
            "https://localhost/x",
            "http://api.localhost./x",
        ] {
            assert!(parse_target(bad, false).is_err(), "{bad}");
        }
        assert!(parse_target("https://sms.example.com/hook?x=1", false).is_ok());
        assert!(parse_target("http://127.0.0.1:9000/", true).is_ok());
        assert!(parse_target("ftp://127.0.0.1/", true).is_err());
    }

    #[test]
    fn event_words_are_actions_history_events_or_star() {
        for w in [
            "*",
            "file",
            "register",
            "resolve",
            "handover",
            "auto_escalate",
        ] {
            assert!(is_event_word(w), "{w}");
        }
        for w in ["", "FILE", "delete", "**"] {
            assert!(!is_event_word(w), "{w}");
        }
    }
}
