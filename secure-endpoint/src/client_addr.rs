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
#[derive(Debug, Clone)]
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
/// The peer is the client unless it is a trusted proxy; then the forwarding headers are
/// read from the right, skipping trusted hops, and the first untrusted hop is the client.
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
    for hop in hops.iter().rev() {
        match hop {
            // An unparseable hop cannot be trusted, and nothing left of it can be believed.
            None => return Some(client),
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

/// The hops of the configured header, left to right.
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    if header == ForwardedHeader::Forwarded {
        return header_lines(headers, http::header::FORWARDED.as_str())
            .into_iter()
            .flat_map(|line| match line {
                Some(line) => line.split(',').map(Some).collect::<Vec<_>>(),
                None => vec![None],
            })
            .map(|element| {
                element?
                    .split(';')
                    .find_map(|pair| {
                        let (name, value) = pair.trim().split_once('=')?;
                        name.eq_ignore_ascii_case("for").then_some(value)
                    })
                    .and_then(parse_forwarded_node)
            })
            .collect();
    }
    header_lines(headers, "x-forwarded-for")
        .into_iter()
        .flat_map(|line| match line {
            Some(line) => line
                .split(',')
                .map(|hop| hop.trim().parse::<IpAddr>().ok().map(canonical))
                .collect::<Vec<_>>(),
            // An unreadable line is a hop that cannot be believed: it stops the walk.
            None => vec![None],
        })
        .collect()
}

/// The lines of a header, `None` for one that is not text.
fn header_lines<'h>(headers: &'h HeaderMap, name: &str) -> Vec<Option<&'h str>> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().ok())
        .collect()
}

/// `192.0.2.60`, `"[2001:db8::1]:4711"`, `"192.0.2.60:80"`.
fn parse_forwarded_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    value.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
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

    #[test]
    fn forwarded_nodes_parse_in_their_forms() {
        assert_eq!(
            parse_forwarded_node("192.0.2.60"),
            "192.0.2.60".parse().ok()
        );
        assert_eq!(
            parse_forwarded_node("\"[2001:db8::1]:4711\""),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(
            parse_forwarded_node("\"192.0.2.60:80\""),
            "192.0.2.60".parse().ok()
        );
        assert_eq!(parse_forwarded_node("unknown"), None);
    }
}
