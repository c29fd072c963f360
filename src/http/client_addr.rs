//! Who is on the other end: the client address the sign-in limits count against.
//!
//! It is the TCP peer, unless the peer is one of the deployment's own proxies
//! (`TRUSTED_PROXIES`): then it is the right-most `X-Forwarded-For` address that is not itself
//! a trusted proxy. Each proxy appends the address it was connected from, so everything right
//! of that address was written by proxies we trust and everything left of it by the client,
//! who may write anything. A header from a peer that is not trusted is never read.

use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client address of a request (see the module documentation).
pub fn of_request(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let forwarded: Vec<Option<&str>> = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.to_str().ok())
        .collect();
    resolve(req.peer_addr().map(|a| a.ip()), trusted, &forwarded)
}

/// Resolves the client address from the TCP peer, the trusted proxies and the values of the
/// `X-Forwarded-For` header lines in the order received (`None` for one that is not text).
pub fn resolve(peer: Option<IpAddr>, trusted: &[IpNet], forwarded: &[Option<&str>]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer
        .map(|ip| ip.to_canonical())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !is_trusted(&client) {
        return client;
    }
    // several header lines are one list, in order
    for line in forwarded.iter().rev() {
        let Some(line) = line else {
            return client;
        };
        for entry in line.rsplit(',') {
            let Some(ip) = parse_entry(entry) else {
                // not an address: a trusted proxy would not have written it, so stop at the
                // last hop we trust rather than guess
                return client;
            };
            client = ip;
            if !is_trusted(&ip) {
                return ip;
            }
        }
    }
    // only trusted hops (or no header): the farthest one known
    client
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`) as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    fn nets(s: &str) -> Vec<IpNet> {
        crate::config::parse_trusted_proxies(s).unwrap_or_default()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let forged = [Some("203.0.113.7")];
        assert_eq!(
            resolve(Some(ip("198.51.100.2")), &[], &forged),
            ip("198.51.100.2")
        );
        let other = nets("10.0.0.0/8");
        assert_eq!(
            resolve(Some(ip("198.51.100.2")), &other, &forged),
            ip("198.51.100.2"),
            "a peer outside the trusted list"
        );
        assert_eq!(resolve(None, &[], &forged), ip("0.0.0.0"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() {
        let trusted = nets("10.0.0.0/8, 192.0.2.10");
        let peer = Some(ip("10.1.2.3"));
        assert_eq!(
            resolve(peer, &trusted, &[Some("203.0.113.7")]),
            ip("203.0.113.7")
        );
        // the client wrote the left part; the proxy appended the real address
        assert_eq!(
            resolve(peer, &trusted, &[Some("1.1.1.1, 203.0.113.7")]),
            ip("203.0.113.7")
        );
        // two trusted hops (an edge proxy and an inner one)
        assert_eq!(
            resolve(
                peer,
                &trusted,
                &[Some("1.1.1.1, 203.0.113.7, 192.0.2.10, 10.9.9.9")]
            ),
            ip("203.0.113.7")
        );
        // several header lines are one list
        assert_eq!(
            resolve(
                peer,
                &trusted,
                &[Some("1.1.1.1"), Some("203.0.113.8 , 10.0.0.2")]
            ),
            ip("203.0.113.8")
        );
        // with ports, IPv6 and IPv4-mapped IPv6
        assert_eq!(
            resolve(peer, &trusted, &[Some("[2001:db8::1]:443")]),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve(peer, &trusted, &[Some("203.0.113.9:5678")]),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(peer, &trusted, &[Some("::ffff:203.0.113.9")]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_without_a_usable_header_is_itself_the_client() {
        let trusted = nets("10.0.0.0/8");
        let peer = Some(ip("10.1.2.3"));
        assert_eq!(resolve(peer, &trusted, &[]), ip("10.1.2.3"));
        assert_eq!(resolve(peer, &trusted, &[Some("")]), ip("10.1.2.3"));
        assert_eq!(resolve(peer, &trusted, &[None]), ip("10.1.2.3"));
        // garbage right of the client: stop at the last trusted hop instead of guessing
        assert_eq!(
            resolve(peer, &trusted, &[Some("203.0.113.7, unknown, 10.0.0.5")]),
            ip("10.0.0.5")
        );
        // only trusted hops: the farthest
        assert_eq!(
            resolve(peer, &trusted, &[Some("10.0.0.9, 10.0.0.5")]),
            ip("10.0.0.9")
        );
    }
}
