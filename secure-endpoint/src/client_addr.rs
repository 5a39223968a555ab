//! The client's address: from the connection, or from `Forwarded` / `X-Forwarded-For`
//! when the connection comes from a trusted proxy.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::ConnectInfo;
use axum::extract::connect_info::MockConnectInfo;
use http::HeaderMap;
use http::request::Parts;

/// The header trusted proxies write the client's address to. Only that one is read: a
/// proxy that appends to one passes the other through as the client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (the default).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// The proxies whose forwarding header is believed, and the header they write.
#[derive(Debug, Clone, Default)]
pub(crate) struct Proxies {
    pub(crate) trusted: Vec<Cidr>,
    pub(crate) header: ForwardedHeader,
}

impl Proxies {
    /// The key a limit counts the client of `parts` on (IPv6 by /64), or `None` when the
    /// server was not given connection info.
    pub(crate) fn client_key(&self, parts: &Parts) -> Option<IpAddr> {
        client_address(parts, &self.trusted, self.header).map(limit_key)
    }
}

/// An address block, `10.0.0.0/8` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` lies in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = canonical(
            address
                .parse::<IpAddr>()
                .map_err(|_| format!("{text:?} is not an address or CIDR block"))?,
        );
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0..={max}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address it is.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address a rate limit counts on: IPv4 as is, IPv6 by its /64 (one subscriber's
/// allocation), mapped IPv4 as IPv4.
pub(crate) fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let masked = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from(masked))
        }
        v4 => v4,
    }
}

/// The client's address, or `None` when the server was not given connection info.
///
/// The peer is the client unless it is a trusted proxy; then the forwarding header is
/// read from the right, skipping trusted hops, and the first untrusted hop is the client.
/// A hop that cannot be read (not an address, `unknown`, an obfuscated name, bytes that
/// are not text) cannot be believed, and neither can anything written before it: the
/// walk stops there and the client is the last trusted hop it reached. That grants the
/// sender nothing: it is counted as the proxy that handed its request on, never as an
/// address it chose.
pub(crate) fn client_address(
    parts: &Parts,
    trusted: &[Cidr],
    header: ForwardedHeader,
) -> Option<IpAddr> {
    let peer = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => addr.ip(),
        None => parts
            .extensions
            .get::<MockConnectInfo<SocketAddr>>()?
            .0
            .ip(),
    };
    let peer = canonical(peer);
    if !trusted.iter().any(|c| c.contains(peer)) {
        return Some(peer);
    }
    let hops = forwarded_hops(&parts.headers, header);
    let mut client = peer;
    for (n, hop) in hops.iter().rev().enumerate() {
        match hop {
            None => {
                if n == 0 {
                    tracing::warn!(
                        header = ?header,
                        "a trusted proxy wrote a forwarding hop that cannot be read: check `trusted_proxies` and `forwarded_header`"
                    );
                }
                return Some(client);
            }
            Some(ip) => {
                client = *ip;
                if !trusted.iter().any(|c| c.contains(*ip)) {
                    return Some(client);
                }
            }
        }
    }
    Some(client)
}

/// The hops of the configured header, left to right, over every line of it; `None` for
/// a hop that cannot be read. Each hop is judged alone, so an unreadable one (which a
/// client can put first, in front of what the proxy appends) never hides the others.
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => http::header::FORWARDED.as_str(),
    };
    let mut hops = Vec::new();
    for line in headers.get_all(name) {
        match header {
            ForwardedHeader::XForwardedFor => hops.extend(
                line.as_bytes()
                    .split(|b| *b == b',')
                    .map(|hop| parse_node(hop.trim_ascii())),
            ),
            ForwardedHeader::Forwarded => forwarded_elements(line.as_bytes(), &mut hops),
        }
    }
    hops
}

/// RFC 7239: elements separated by `,`, pairs by `;`, values a token or a quoted string
/// (with `\` escapes), where `,`, `;` and `=` inside quotes are text. The `for` of each
/// element, `None` where it is missing or cannot be read.
fn forwarded_elements(line: &[u8], hops: &mut Vec<Option<IpAddr>>) {
    let mut at = 0;
    let mut element_for: Option<Option<IpAddr>> = None;
    let mut malformed = false;
    loop {
        // One pair: NAME=VALUE.
        while at < line.len() && line[at].is_ascii_whitespace() {
            at += 1;
        }
        let name_start = at;
        while at < line.len() && !matches!(line[at], b'=' | b';' | b',') {
            at += 1;
        }
        let name = line[name_start..at].trim_ascii();
        let mut value: Vec<u8> = Vec::new();
        if at < line.len() && line[at] == b'=' {
            at += 1;
            if at < line.len() && line[at] == b'"' {
                at += 1;
                let mut closed = false;
                while at < line.len() {
                    match line[at] {
                        b'\\' if at + 1 < line.len() => {
                            value.push(line[at + 1]);
                            at += 2;
                        }
                        b'"' => {
                            at += 1;
                            closed = true;
                            break;
                        }
                        byte => {
                            value.push(byte);
                            at += 1;
                        }
                    }
                }
                malformed |= !closed;
                // Anything between the closing quote and the next separator is junk.
                while at < line.len() && !matches!(line[at], b';' | b',') {
                    malformed |= !line[at].is_ascii_whitespace();
                    at += 1;
                }
            } else {
                let start = at;
                while at < line.len() && !matches!(line[at], b';' | b',') {
                    at += 1;
                }
                value.extend_from_slice(line[start..at].trim_ascii());
            }
        } else if !name.is_empty() {
            malformed = true;
        }
        if name.eq_ignore_ascii_case(b"for") {
            // A second `for` in one element makes it ambiguous: unreadable.
            element_for = Some(match element_for {
                None => parse_node(&value),
                Some(_) => None,
            });
        }
        let separator = line.get(at).copied();
        at += 1;
        if separator != Some(b';') {
            // The element ends here (at `,` or the end of the line).
            hops.push(if malformed {
                None
            } else {
                element_for.unwrap_or(None)
            });
            element_for = None;
            malformed = false;
            if separator.is_none() {
                return;
            }
        }
    }
}

/// One hop: `192.0.2.60`, `192.0.2.60:80`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`. Anything else, or bytes that are not ASCII, is `None`.
fn parse_node(bytes: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if !text.is_ascii() || text.is_empty() {
        return None;
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return address
            .parse::<Ipv6Addr>()
            .ok()
            .map(|v6| canonical(IpAddr::V6(v6)));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // `a.b.c.d:port`; an IPv6 address with a port must be bracketed.
    let (address, port) = text.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_contain_their_addresses() {
        let block: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(block.contains("10.200.1.1".parse().unwrap()));
        assert!(block.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!block.contains("11.0.0.1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a = limit_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = limit_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = limit_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            limit_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn nodes_parse_in_their_forms() {
        assert_eq!(parse_node(b"192.0.2.60"), ip("192.0.2.60"));
        assert_eq!(parse_node(b"192.0.2.60:80"), ip("192.0.2.60"));
        assert_eq!(parse_node(b"[2001:db8::1]:4711"), ip("2001:db8::1"));
        assert_eq!(parse_node(b"[2001:db8::1]"), ip("2001:db8::1"));
        assert_eq!(parse_node(b"2001:db8::1"), ip("2001:db8::1"));
        assert_eq!(parse_node(b"::ffff:192.0.2.7"), ip("192.0.2.7"));
        for bad in [
            &b"unknown"[..],
            b"_hidden",
            b"",
            b"1.2.3.4:",
            b"1.2.3.4:port",
            b"[2001:db8::1]x",
            b"2001:db8::1:443x",
            b"\xc3\xa9",
            b"1.2.3.4:123456",
        ] {
            assert_eq!(parse_node(bad), None, "{bad:?}");
        }
    }

    fn elements(line: &str) -> Vec<Option<IpAddr>> {
        let mut hops = Vec::new();
        forwarded_elements(line.as_bytes(), &mut hops);
        hops
    }

    #[test]
    fn forwarded_quoted_strings_keep_their_separators() {
        assert_eq!(
            elements(r#"for=192.0.2.1, for="[2001:db8::1]:443";proto=https"#),
            [ip("192.0.2.1"), ip("2001:db8::1")]
        );
        // The client chose the Host; the proxy quoted it: its `,` and `for=` are text.
        assert_eq!(
            elements(r#"host="a,for=1.2.3.4";for=198.51.100.7"#),
            [ip("198.51.100.7")]
        );
        assert_eq!(
            elements(r#"for=198.51.100.7;host="a\"b,for=1.2.3.4""#),
            [ip("198.51.100.7")]
        );
        assert_eq!(elements(r#"for="unterminated"#), [None]);
        assert_eq!(elements("proto=https"), [None]);
        assert_eq!(elements("for=1.2.3.4;for=5.6.7.8"), [None]);
    }
}

#[cfg(test)]
mod properties {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    use axum::extract::ConnectInfo;
    use http::{HeaderValue, Request};
    use proptest::prelude::*;

    use super::{Cidr, ForwardedHeader, client_address};

    /// What a client can put in a header value: anything but control characters.
    fn client_text() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b','),
                Just(b';'),
                Just(b'"'),
                Just(b'='),
                Just(b'['),
                Just(b']'),
                Just(b':'),
                Just(b' '),
                0x21u8..=0x7e,
                0x80u8..=0xff
            ],
            0..80,
        )
    }

    fn client_of(line: &[u8], header: ForwardedHeader) -> Option<IpAddr> {
        let name = match header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let mut request = Request::new(());
        request
            .headers_mut()
            .insert(name, HeaderValue::from_bytes(line).ok()?);
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 443))));
        let (parts, ()) = request.into_parts();
        let proxy: Cidr = "10.0.0.0/8".parse().unwrap();
        client_address(&parts, &[proxy], header)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the client writes in front of what the proxy appended, the client
        /// is the address the proxy saw.
        #[test]
        fn what_the_client_writes_never_moves_its_address(
            written in client_text(),
            seen in any::<u32>().prop_filter("not a proxy", |n| n >> 24 != 10),
        ) {
            let seen = IpAddr::V4(Ipv4Addr::from(seen));
            let mut line = written.clone();
            line.extend_from_slice(format!(", {seen}").as_bytes());
            if let Some(client) = client_of(&line, ForwardedHeader::XForwardedFor) {
                prop_assert_eq!(client, super::canonical(seen));
            }
            let mut line = written;
            line.extend_from_slice(format!(", for={seen}").as_bytes());
            if let Some(client) = client_of(&line, ForwardedHeader::Forwarded) {
                // A quote the client left open swallows the proxy's element: then the
                // element cannot be read and the walk stops at the proxy itself.
                prop_assert!(
                    client == super::canonical(seen) || client == IpAddr::from([10, 0, 0, 1]),
                    "client {client}, seen {seen}"
                );
            }
        }
    }
}
