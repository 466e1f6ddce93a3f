//! One subnet's address allocator: the addresses the subnet itself reserves (network, broadcast,
//! gateway, auxiliary), the endpoint addresses taken, and a round-robin cursor for dynamic ones.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::cidr;
use super::runs::Runs;
use super::{Family, IpamError, SubnetConfig};

/// Why the subnet itself holds an address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reservation {
    NetworkAddress,
    Broadcast,
    Gateway,
    Aux(String),
}

impl fmt::Display for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NetworkAddress => f.write_str("network address"),
            Self::Broadcast => f.write_str("broadcast address"),
            Self::Gateway => f.write_str("gateway"),
            Self::Aux(name) => write!(f, "auxiliary address `{name}`"),
        }
    }
}

/// Why an address cannot be claimed; the caller adds the network's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unavailable {
    InUse,
    /// The role the subnet reserves the address for, e.g. "gateway".
    Reserved(String),
}

/// Addresses are absolute `u128` values rather than offsets from the network address: the
/// subnet's own bounds already delimit them, and there is one subtraction less to get wrong.
#[derive(Debug, Clone)]
pub(super) struct SubnetAllocator {
    subnet: IpNetwork,
    ip_range: Option<IpNetwork>,
    family: Family,
    /// Dynamic addresses come from `first..=last`: the ip range if set, else the whole subnet.
    first: u128,
    last: u128,
    /// Kept apart from endpoint addresses so that `release` can never free them.
    reserved: BTreeMap<u128, Reservation>,
    /// Reserved and endpoint addresses together, so one lookup finds the next free address.
    taken: Runs,
    /// Where the next dynamic search starts: just after the address handed out last.
    cursor: u128,
}

impl SubnetAllocator {
    /// Fails if the config places the range, the gateway or an aux address outside the subnet,
    /// or two reservations on one address. `plan_network` builds one just to run these checks.
    pub(super) fn new(config: &SubnetConfig) -> Result<Self, IpamError> {
        let subnet = config.subnet;
        let (net_first, net_last) = cidr::bounds(subnet);
        let (first, last) = match config.ip_range {
            Some(range) if !cidr::is_within(range, subnet) => {
                return Err(IpamError::OutsideSubnet {
                    what: "ip range".to_owned(),
                    value: range.to_string(),
                    subnet,
                });
            }
            Some(range) => cidr::bounds(range),
            None => (net_first, net_last),
        };
        let family = Family::of_network(subnet);
        let mut allocator = Self {
            subnet,
            ip_range: config.ip_range,
            family,
            first,
            last,
            reserved: BTreeMap::new(),
            taken: Runs::default(),
            cursor: first,
        };
        // Linux treats the IPv6 subnet-router anycast address like the IPv4 network address, and
        // Docker never hands either out; only IPv4 has a broadcast address.
        let mut fixed = vec![(net_first, Reservation::NetworkAddress)];
        if family == Family::V4 && net_last != net_first {
            fixed.push((net_last, Reservation::Broadcast));
        }
        for (value, reservation) in fixed {
            allocator.reserved.insert(value, reservation);
            allocator.taken.insert(value);
        }
        if let Some(gateway) = config.gateway {
            allocator.reserve_fixed(gateway, Reservation::Gateway)?;
        }
        for (name, &addr) in &config.aux_addresses {
            allocator.reserve_fixed(addr, Reservation::Aux(name.clone()))?;
        }
        Ok(allocator)
    }

    fn reserve_fixed(&mut self, addr: IpAddr, reservation: Reservation) -> Result<(), IpamError> {
        let what = match &reservation {
            Reservation::Aux(name) => format!("auxiliary address `{name}`"),
            other => other.to_string(),
        };
        if !self.subnet.contains(addr) {
            return Err(IpamError::OutsideSubnet {
                what,
                value: addr.to_string(),
                subnet: self.subnet,
            });
        }
        let value = cidr::to_u128(addr);
        if let Some(existing) = self.reserved.get(&value) {
            return Err(IpamError::ReservedAddressClash {
                what,
                addr,
                other: existing.to_string(),
                subnet: self.subnet,
            });
        }
        self.reserved.insert(value, reservation);
        self.taken.insert(value);
        Ok(())
    }

    pub(super) fn subnet(&self) -> IpNetwork {
        self.subnet
    }

    pub(super) fn family(&self) -> Family {
        self.family
    }

    /// Where dynamic addresses come from, for error messages.
    pub(super) fn pool(&self) -> IpNetwork {
        self.ip_range.unwrap_or(self.subnet)
    }

    pub(super) fn contains(&self, addr: IpAddr) -> bool {
        self.subnet.contains(addr)
    }

    #[cfg(test)]
    pub(super) fn is_taken(&self, addr: IpAddr) -> bool {
        self.contains(addr) && self.taken.contains(cidr::to_u128(addr))
    }

    /// Takes `addr`, which may lie outside the ip range. The caller has checked `contains`.
    pub(super) fn claim(&mut self, addr: IpAddr) -> Result<(), Unavailable> {
        let value = cidr::to_u128(addr);
        if let Some(reservation) = self.reserved.get(&value) {
            return Err(Unavailable::Reserved(reservation.to_string()));
        }
        if !self.taken.insert(value) {
            return Err(Unavailable::InUse);
        }
        Ok(())
    }

    /// Hands out the next free address of the range, or `None` if the range is full.
    pub(super) fn next(&mut self) -> Option<IpAddr> {
        // Searching on from the last address handed out, and wrapping only at the end, keeps a
        // just-released address out of reach for as long as possible: peers may still map it to
        // the old container's MAC in their ARP or neighbour caches.
        let value = self
            .taken
            .first_free(self.cursor, self.last)
            .or_else(|| self.taken.first_free(self.first, self.last))?;
        self.taken.insert(value);
        self.cursor = value
            .checked_add(1)
            .filter(|&next| next <= self.last)
            .unwrap_or(self.first);
        Some(cidr::from_u128(self.family, value))
    }

    /// Frees an endpoint address. Reserved addresses stay taken: they belong to the subnet.
    pub(super) fn release(&mut self, addr: IpAddr) {
        let value = cidr::to_u128(addr);
        if self.contains(addr) && !self.reserved.contains_key(&value) {
            self.taken.remove(value);
        }
    }

    #[cfg(test)]
    pub(super) fn run_count(&self) -> usize {
        self.taken.run_count()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ip, net};
    use super::*;

    fn config(subnet: &str, gateway: Option<&str>, ip_range: Option<&str>) -> SubnetConfig {
        SubnetConfig {
            subnet: net(subnet),
            ip_range: ip_range.map(net),
            gateway: gateway.map(ip),
            aux_addresses: BTreeMap::new(),
        }
    }

    fn allocator(config: &SubnetConfig) -> SubnetAllocator {
        SubnetAllocator::new(config).expect("valid test config")
    }

    fn drain(allocator: &mut SubnetAllocator) -> Vec<IpAddr> {
        std::iter::from_fn(|| allocator.next()).collect()
    }

    #[test]
    fn network_broadcast_and_gateway_are_reserved() {
        let mut subnet = allocator(&config("10.0.0.0/24", Some("10.0.0.1"), None));
        for (addr, role) in [
            ("10.0.0.0", "network address"),
            ("10.0.0.255", "broadcast address"),
            ("10.0.0.1", "gateway"),
        ] {
            assert!(subnet.is_taken(ip(addr)), "{addr}");
            assert_eq!(
                subnet.claim(ip(addr)),
                Err(Unavailable::Reserved(role.to_owned()))
            );
        }
        assert_eq!(subnet.next(), Some(ip("10.0.0.2")));
    }

    #[test]
    fn ipv6_reserves_the_anycast_address_but_has_no_broadcast() {
        let mut subnet = allocator(&config("fd00::/126", Some("fd00::1"), None));
        assert_eq!(
            drain(&mut subnet),
            vec![ip("fd00::2"), ip("fd00::3")],
            "the last address of an IPv6 subnet is an ordinary one"
        );
        assert!(subnet.is_taken(ip("fd00::")));
    }

    #[test]
    fn slash_30_has_exactly_one_dynamic_address() {
        let mut subnet = allocator(&config("10.0.0.0/30", Some("10.0.0.1"), None));
        assert_eq!(drain(&mut subnet), vec![ip("10.0.0.2")]);
    }

    #[test]
    fn round_robin_wraps_and_does_not_reuse_a_freed_address_at_once() {
        // 10.0.0.2 ..= 10.0.0.6 are dynamic.
        let mut subnet = allocator(&config("10.0.0.0/29", Some("10.0.0.1"), None));
        assert_eq!(subnet.next(), Some(ip("10.0.0.2")));
        assert_eq!(subnet.next(), Some(ip("10.0.0.3")));
        subnet.release(ip("10.0.0.2"));
        assert_eq!(subnet.next(), Some(ip("10.0.0.4")), "not the freed .2");
        assert_eq!(subnet.next(), Some(ip("10.0.0.5")));
        assert_eq!(subnet.next(), Some(ip("10.0.0.6")));
        assert_eq!(
            subnet.next(),
            Some(ip("10.0.0.2")),
            "wrapped to the freed .2"
        );
        assert_eq!(subnet.next(), None, "full");
        subnet.release(ip("10.0.0.4"));
        assert_eq!(subnet.next(), Some(ip("10.0.0.4")));
    }

    #[test]
    fn ip_range_bounds_dynamic_addresses_only() {
        let mut subnet = allocator(&config(
            "10.0.0.0/16",
            Some("10.0.0.1"),
            Some("10.0.5.0/30"),
        ));
        assert_eq!(subnet.pool(), net("10.0.5.0/30"));
        assert_eq!(
            drain(&mut subnet),
            ["10.0.5.0", "10.0.5.1", "10.0.5.2", "10.0.5.3"]
                .map(ip)
                .to_vec(),
            "inside a range only the subnet's own reservations are skipped"
        );
        assert_eq!(
            subnet.claim(ip("10.0.9.9")),
            Ok(()),
            "static may lie outside"
        );
        assert_eq!(subnet.claim(ip("10.0.9.9")), Err(Unavailable::InUse));
    }

    #[test]
    fn aux_addresses_are_reserved_by_name() {
        let mut cfg = config("10.0.0.0/29", Some("10.0.0.1"), None);
        cfg.aux_addresses
            .insert("router".to_owned(), ip("10.0.0.2"));
        let mut subnet = allocator(&cfg);
        assert_eq!(
            subnet.claim(ip("10.0.0.2")),
            Err(Unavailable::Reserved(
                "auxiliary address `router`".to_owned()
            ))
        );
        assert_eq!(subnet.next(), Some(ip("10.0.0.3")));
    }

    #[test]
    fn release_never_frees_a_reservation() {
        let mut subnet = allocator(&config("10.0.0.0/30", Some("10.0.0.1"), None));
        for addr in ["10.0.0.0", "10.0.0.1", "10.0.0.3"] {
            subnet.release(ip(addr));
        }
        assert_eq!(drain(&mut subnet), vec![ip("10.0.0.2")]);
        subnet.release(ip("192.0.2.1"));
        assert!(!subnet.is_taken(ip("192.0.2.1")), "outside: a no-op");
    }

    #[test]
    fn inconsistent_configs_are_refused() {
        let outside = SubnetAllocator::new(&config("10.0.0.0/24", Some("10.1.0.1"), None));
        assert_eq!(
            outside.map(|_| ()).map_err(|e| e.to_string()),
            Err("gateway 10.1.0.1 is outside subnet 10.0.0.0/24".to_owned())
        );
        let range = SubnetAllocator::new(&config("10.0.0.0/24", None, Some("10.0.0.0/23")));
        assert!(matches!(range, Err(IpamError::OutsideSubnet { what, .. }) if what == "ip range"));
        let mut clash = config("10.0.0.0/24", Some("10.0.0.1"), None);
        clash.aux_addresses.insert("dns".to_owned(), ip("10.0.0.1"));
        assert_eq!(
            SubnetAllocator::new(&clash)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(
                "auxiliary address `dns` 10.0.0.1 is already the gateway of subnet 10.0.0.0/24"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_slash_64_allocates_without_sizing_anything_to_it() {
        let mut subnet = allocator(&config(
            "fd42:636e:6d00::/64",
            Some("fd42:636e:6d00::1"),
            None,
        ));
        let first: Vec<_> = (0..1000).filter_map(|_| subnet.next()).collect();
        assert_eq!(first.len(), 1000);
        assert_eq!(first[0], ip("fd42:636e:6d00::2"));
        assert_eq!(first[999], ip("fd42:636e:6d00::3e9"));
        assert_eq!(
            subnet.run_count(),
            1,
            "network, gateway and 1000 endpoints form one run"
        );
        assert_eq!(
            subnet.claim(ip("fd42:636e:6d00:0:ffff:ffff:ffff:ffff")),
            Ok(())
        );
    }
}
