//! Typed input of the firewall (networks and port mappings) and the one place
//! that validates it into the keys the ruleset and netlink builders consume.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::error::FirewallError;
use crate::names;

/// What the firewall needs to know about one cnm network. Rules key on the
/// bridge name; the subnets only tell hairpin traffic apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The network id (64 hex digits); used only to find the network again.
    pub id: String,
    /// The Linux bridge of the network, e.g. `cnm0`.
    pub bridge: String,
    /// The network's subnets (IPv4 and IPv6) on the bridge.
    pub subnets: Vec<IpNetwork>,
    /// `--internal`: nothing is forwarded into or out of the bridge.
    pub internal: bool,
    /// Masquerade traffic leaving the host from this bridge (ignored when internal).
    pub masquerade: bool,
    /// Inter-container communication on the bridge; `false` drops it.
    pub icc: bool,
}

impl NetworkRules {
    pub(crate) fn validate(&self) -> Result<(), FirewallError> {
        let invalid = |reason| FirewallError::InvalidNetwork {
            id: self.id.clone(),
            reason,
        };
        if self.id.is_empty() {
            return Err(invalid("empty network id"));
        }
        if self
            .subnets
            .iter()
            .any(|s| s.ip().is_loopback() || s.ip().is_multicast())
        {
            return Err(invalid("subnet is loopback or multicast"));
        }
        let name = self.bridge.as_bytes();
        if name.is_empty() || name.len() >= names::IFNAMSIZ {
            return Err(invalid("bridge name must be 1 to 15 bytes"));
        }
        if name
            .iter()
            .any(|b| *b == b'/' || *b == 0 || b.is_ascii_whitespace())
        {
            return Err(invalid("bridge name contains '/', NUL or whitespace"));
        }
        Ok(())
    }

    /// The interface-name sets that hold this network's bridge.
    pub(crate) fn ifname_sets(&self) -> Vec<&'static str> {
        let mut sets = vec![names::BRIDGES];
        if self.internal {
            sets.push(names::INTERNAL_BRIDGES);
        } else if self.masquerade {
            sets.push(names::MASQ_BRIDGES);
        }
        if !self.icc {
            sets.push(names::NO_ICC_BRIDGES);
        }
        sets
    }
}

/// Transport protocol of a published port.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The IP protocol number (`meta l4proto`).
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// The name nft uses.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "sctp" => Ok(Protocol::Sctp),
            _ => Err(format!("unknown protocol {raw:?}: use tcp, udp or sctp")),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One published port: host address/port/protocol to container address/port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortMapping {
    pub protocol: Protocol,
    /// `None` (or an unspecified address) = every local address of the
    /// container address's family, including 127.0.0.1.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_ip: IpAddr,
    pub container_port: u16,
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(IpAddr::V4(ip)) => write!(f, "{ip}:")?,
            None => {}
        }
        write!(f, "{}/{} -> ", self.host_port, self.protocol)?;
        match self.container_ip {
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.container_port),
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.container_port),
        }
    }
}

/// The identity of a published port in the kernel maps: what a second
/// mapping may not reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct HostKey {
    pub ipv6: bool,
    pub host_ip: Option<IpAddr>,
    pub protocol: Protocol,
    pub port: u16,
}

/// A mapping that passed validation; the only input of element builders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidMapping {
    pub key: HostKey,
    pub container_ip: IpAddr,
    pub container_port: u16,
    pub display: String,
}

impl ValidMapping {
    /// Names of the (address, port) maps this mapping lives in.
    pub fn maps(&self) -> (&'static str, &'static str) {
        names::port_maps(self.key.ipv6, self.key.host_ip.is_none())
    }
}

impl PortMapping {
    pub(crate) fn validate(&self) -> Result<ValidMapping, FirewallError> {
        let invalid = |reason| FirewallError::InvalidMapping {
            mapping: self.to_string(),
            reason,
        };
        if self.host_port == 0 || self.container_port == 0 {
            return Err(invalid("port 0 cannot be published"));
        }
        let c = self.container_ip;
        if c.is_unspecified() || c.is_loopback() || c.is_multicast() {
            return Err(invalid("container address must be a unicast address"));
        }
        let host_ip = self.host_ip.filter(|ip| !ip.is_unspecified());
        if host_ip.is_some_and(|h| h.is_ipv6() && h.is_loopback()) {
            return Err(invalid(
                "Linux cannot forward IPv6 loopback traffic into a container \
                 (there is no IPv6 route_localnet); publish on 127.0.0.1 for \
                 the host only, or on [::] or a host address",
            ));
        }
        if host_ip.is_some_and(|h| h.is_ipv6() != c.is_ipv6()) {
            return Err(invalid(
                "host and container addresses are of different families",
            ));
        }
        Ok(ValidMapping {
            key: HostKey {
                ipv6: c.is_ipv6(),
                host_ip,
                protocol: self.protocol,
                port: self.host_port,
            },
            container_ip: c,
            container_port: self.container_port,
            display: self.to_string(),
        })
    }
}

/// Validates a batch: every mapping on its own, and no host key twice.
pub(crate) fn validate_all(mappings: &[PortMapping]) -> Result<Vec<ValidMapping>, FirewallError> {
    let mut seen = HashSet::with_capacity(mappings.len());
    let mut valid = Vec::with_capacity(mappings.len());
    for m in mappings {
        let v = m.validate()?;
        if !seen.insert(v.key) {
            return Err(FirewallError::AlreadyPublished { mapping: v.display });
        }
        valid.push(v);
    }
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host_ip: Option<&str>, container_ip: &str) -> PortMapping {
        PortMapping {
            protocol: Protocol::Tcp,
            host_ip: host_ip.map(|s| s.parse().expect("ip")),
            host_port: 8080,
            container_ip: container_ip.parse().expect("ip"),
            container_port: 80,
        }
    }

    #[test]
    fn unspecified_host_ip_means_any() {
        let v = mapping(Some("0.0.0.0"), "10.0.0.2")
            .validate()
            .expect("valid");
        assert_eq!(v.key.host_ip, None);
        assert_eq!(v.maps(), (names::ANY_V4_ADDR, names::ANY_V4_PORT));
    }

    #[test]
    fn ipv6_loopback_host_ip_is_rejected() {
        let err = mapping(Some("::1"), "fd00::2").validate().unwrap_err();
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }

    #[test]
    fn family_mismatch_is_rejected() {
        let err = mapping(Some("fd00::1"), "10.0.0.2").validate().unwrap_err();
        assert!(err.to_string().contains("different families"), "{err}");
    }

    #[test]
    fn duplicate_in_one_batch_is_rejected() {
        let m = mapping(None, "10.0.0.2");
        let err = validate_all(&[m.clone(), m]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "host port 8080/tcp -> 10.0.0.2:80 is already published"
        );
    }

    #[test]
    fn display_brackets_ipv6() {
        let m = mapping(Some("fd00::1"), "fd00::2");
        assert_eq!(m.to_string(), "[fd00::1]:8080/tcp -> [fd00::2]:80");
    }

    #[test]
    fn bridge_name_is_checked() {
        let net = NetworkRules {
            id: "n".into(),
            bridge: "a-very-long-bridge".into(),
            subnets: Vec::new(),
            internal: false,
            masquerade: true,
            icc: true,
        };
        assert!(net.validate().is_err());
    }
}
