//! Host port reservations: which (protocol, host address, port) is held by
//! which endpoint, so a port is never given to two containers and the error
//! names the holder.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use super::spec::Protocol;

/// The host side of a published port: one address, or every address of a
/// family (0.0.0.0 / ::).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum HostAddr {
    AnyV4,
    AnyV6,
    Ip(IpAddr),
}

impl HostAddr {
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) if v4.is_unspecified() => HostAddr::AnyV4,
            IpAddr::V6(v6) if v6.is_unspecified() => HostAddr::AnyV6,
            ip => HostAddr::Ip(ip),
        }
    }

    pub fn is_ipv6(self) -> bool {
        match self {
            HostAddr::AnyV4 => false,
            HostAddr::AnyV6 => true,
            HostAddr::Ip(ip) => ip.is_ipv6(),
        }
    }

    /// Two bindings of one port clash if they can receive the same packet.
    fn overlaps(self, other: HostAddr) -> bool {
        self.is_ipv6() == other.is_ipv6()
            && (self == other
                || matches!(self, HostAddr::AnyV4 | HostAddr::AnyV6)
                || matches!(other, HostAddr::AnyV4 | HostAddr::AnyV6))
    }
}

impl std::fmt::Display for HostAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostAddr::AnyV4 => f.write_str("0.0.0.0"),
            HostAddr::AnyV6 => f.write_str("::"),
            HostAddr::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Holder {
    addr: HostAddr,
    endpoint_id: String,
    /// Who to name in a conflict error ("sandbox `db`").
    owner: String,
}

/// Every host port held, by (protocol, port).
#[derive(Debug)]
pub struct PortTable {
    held: BTreeMap<(Protocol, u16), Vec<Holder>>,
    ephemeral: RangeInclusive<u16>,
    cursor: u16,
}

impl PortTable {
    /// `ephemeral`: where ports are picked when none is asked for (the
    /// kernel's ip_local_port_range, as Docker does).
    pub fn new(ephemeral: RangeInclusive<u16>) -> Self {
        let cursor = *ephemeral.start();
        PortTable {
            held: BTreeMap::new(),
            ephemeral,
            cursor,
        }
    }

    /// The holder of a port that clashes with (protocol, addr, port).
    pub fn conflict(&self, protocol: Protocol, addr: HostAddr, port: u16) -> Option<&str> {
        self.held
            .get(&(protocol, port))?
            .iter()
            .find(|h| h.addr.overlaps(addr))
            .map(|h| h.owner.as_str())
    }

    /// A free port for all of `addrs`: from `range`, or an ephemeral one
    /// (round-robin, so a freed port is not handed out again at once).
    pub fn pick(
        &mut self,
        protocol: Protocol,
        addrs: &[HostAddr],
        range: Option<&RangeInclusive<u16>>,
    ) -> Option<u16> {
        let free = |table: &Self, port: u16| {
            addrs
                .iter()
                .all(|a| table.conflict(protocol, *a, port).is_none())
        };
        if let Some(range) = range {
            return range.clone().find(|p| free(self, *p));
        }
        let (lo, hi) = (*self.ephemeral.start(), *self.ephemeral.end());
        let span = u32::from(hi - lo) + 1;
        for step in 0..span {
            let port = lo + ((u32::from(self.cursor - lo) + step) % span) as u16;
            if free(self, port) {
                self.cursor = if port == hi { lo } else { port + 1 };
                return Some(port);
            }
        }
        None
    }

    pub fn hold(
        &mut self,
        protocol: Protocol,
        addr: HostAddr,
        port: u16,
        endpoint_id: &str,
        owner: &str,
    ) {
        self.held.entry((protocol, port)).or_default().push(Holder {
            addr,
            endpoint_id: endpoint_id.to_owned(),
            owner: owner.to_owned(),
        });
    }

    /// Frees every port an endpoint holds.
    pub fn release(&mut self, endpoint_id: &str) {
        self.held.retain(|_, holders| {
            holders.retain(|h| h.endpoint_id != endpoint_id);
            !holders.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> HostAddr {
        HostAddr::from_ip(s.parse().unwrap())
    }

    #[test]
    fn any_address_overlaps_specific_ones_of_its_family_only() {
        let mut t = PortTable::new(40000..=40009);
        t.hold(Protocol::Tcp, HostAddr::AnyV4, 8080, "e1", "sandbox `web`");
        assert_eq!(
            t.conflict(Protocol::Tcp, ip("127.0.0.1"), 8080),
            Some("sandbox `web`")
        );
        assert_eq!(t.conflict(Protocol::Tcp, HostAddr::AnyV6, 8080), None);
        assert_eq!(t.conflict(Protocol::Udp, HostAddr::AnyV4, 8080), None);
        t.hold(Protocol::Tcp, ip("10.0.0.1"), 9090, "e2", "sandbox `db`");
        assert_eq!(t.conflict(Protocol::Tcp, ip("10.0.0.2"), 9090), None);
        assert_eq!(
            t.conflict(Protocol::Tcp, HostAddr::AnyV4, 9090),
            Some("sandbox `db`")
        );
        t.release("e1");
        assert_eq!(t.conflict(Protocol::Tcp, HostAddr::AnyV4, 8080), None);
    }

    #[test]
    fn ephemeral_ports_round_robin_and_skip_held_ones() {
        let mut t = PortTable::new(40000..=40002);
        let any = [HostAddr::AnyV4];
        t.hold(Protocol::Tcp, HostAddr::AnyV4, 40001, "x", "x");
        assert_eq!(t.pick(Protocol::Tcp, &any, None), Some(40000));
        t.hold(Protocol::Tcp, HostAddr::AnyV4, 40000, "a", "a");
        assert_eq!(t.pick(Protocol::Tcp, &any, None), Some(40002));
        t.hold(Protocol::Tcp, HostAddr::AnyV4, 40002, "b", "b");
        assert_eq!(t.pick(Protocol::Tcp, &any, None), None);
        t.release("a");
        assert_eq!(t.pick(Protocol::Tcp, &any, None), Some(40000));
        assert_eq!(t.pick(Protocol::Tcp, &any, Some(&(40001..=40002))), None);
    }
}
