//! The host's upstream resolvers, read from resolv.conf (`nameserver` lines).

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::{Path, PathBuf};

/// At most this many upstreams are queried in parallel.
pub const MAX_UPSTREAMS: usize = 8;
const DNS_PORT: u16 = 53;

/// Reading resolv.conf failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read resolv.conf {path}")]
pub struct ResolvConfError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// Reads the `nameserver` entries of a resolv.conf file.
pub fn read_resolv_conf(path: &Path) -> Result<Vec<SocketAddr>, ResolvConfError> {
    let text = std::fs::read_to_string(path).map_err(|source| ResolvConfError {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse_resolv_conf(&text))
}

/// Parses `nameserver` lines; skips comments and entries that are not
/// addresses. IPv6 link-local entries may carry a zone (`fe80::1%eth0`).
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut servers = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(server) = words.next().and_then(parse_server) else {
            tracing::warn!(line, "ignoring unusable nameserver line");
            continue;
        };
        if !servers.contains(&server) && servers.len() < MAX_UPSTREAMS {
            servers.push(server);
        }
    }
    servers
}

fn parse_server(word: &str) -> Option<SocketAddr> {
    if let Ok(ip) = word.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, DNS_PORT));
    }
    let (addr, zone) = word.split_once('%')?;
    let addr: Ipv6Addr = addr.parse().ok()?;
    let scope = zone
        .parse::<u32>()
        .ok()
        .or_else(|| nix::net::if_::if_nametoindex(zone).ok())?;
    Some(SocketAddr::V6(SocketAddrV6::new(addr, DNS_PORT, 0, scope)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_in_order_without_comments() {
        let text = "# generated\nsearch example.org\nnameserver 127.0.0.53\n\
                    nameserver   10.0.0.2 # office\n;nameserver 10.0.0.9\n\
                    nameserver ::1\nnameserver 127.0.0.53\nnameserver fe80::1%1\n\
                    nameserver bogus\noptions edns0 trust-ad\n";
        let got: Vec<String> = parse_resolv_conf(text)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            got,
            ["127.0.0.53:53", "10.0.0.2:53", "[::1]:53", "[fe80::1%1]:53"]
        );
    }

    #[test]
    fn empty_file_means_no_upstream() {
        assert!(parse_resolv_conf("").is_empty());
    }
}
