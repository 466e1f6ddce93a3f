//! IP address management for cnmd: picks subnets for new networks from the default address
//! pools, validates user-given ones, and hands out endpoint addresses on each network.
//!
//! [`Ipam`] is pure bookkeeping without I/O or locking: the core persists the `SubnetConfig`s and
//! endpoint addresses, and replays them on start-up. The core reaches it as the `default` IPAM
//! driver ([`DefaultIpam`], in `driver`: `Ipam` under a mutex of its own), through the same
//! trait as IPAM plugins.

mod cidr;
mod driver;
mod error;
mod network;
mod plan;
mod pool;
mod runs;
mod subnet;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

pub use driver::{pool, subnet_config, DefaultIpam, DEFAULT_IPAM};
pub use error::IpamError;
use network::Network;
pub use pool::DefaultPools;
use subnet::SubnetAllocator;

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    pub fn of_network(net: IpNetwork) -> Self {
        match net {
            IpNetwork::V4(_) => Self::V4,
            IpNetwork::V6(_) => Self::V6,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }

    /// Longest prefix accepted for a subnet or pool block: it must leave room for the network
    /// address, the gateway, an endpoint and (IPv4) the broadcast address.
    fn max_subnet_prefix(self) -> u8 {
        self.bits() - 2
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// What the user asked for one subnet (`--subnet`, `--ip-range`, `--gateway`,
/// `--aux-address name=ip`). All optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetRequest {
    pub subnet: Option<IpNetwork>,
    pub ip_range: Option<IpNetwork>,
    pub gateway: Option<IpAddr>,
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

/// A resolved subnet of a network, as stored. Networks are written as "172.18.0.0/16"; fields
/// other than `subnet` may be missing from a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetConfig {
    #[serde(with = "cidr::text")]
    pub subnet: IpNetwork,
    #[serde(default, with = "cidr::text_opt")]
    pub ip_range: Option<IpNetwork>,
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    #[serde(default)]
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

impl SubnetConfig {
    pub fn family(&self) -> Family {
        Family::of_network(self.subnet)
    }
}

/// The daemon's IPAM state: default pools and one address allocator per subnet of each
/// registered network.
#[derive(Debug, Clone)]
pub struct Ipam {
    pools: DefaultPools,
    /// Keyed by network id.
    networks: BTreeMap<String, Network>,
}

impl Ipam {
    pub fn new(pools: DefaultPools) -> Self {
        Self {
            pools,
            networks: BTreeMap::new(),
        }
    }

    /// Registers a network's subnets (from `plan_network`, or from the store at start-up).
    /// Reserves the gateway, aux addresses, the network address and (IPv4) the broadcast
    /// address. Fails, registering nothing, if the id is already registered or a config is
    /// inconsistent in itself; overlaps with other networks are `plan_network`'s job, so that a
    /// store written by an older version always loads.
    pub fn add_network(
        &mut self,
        network_id: &str,
        name: &str,
        configs: &[SubnetConfig],
    ) -> Result<(), IpamError> {
        if let Some(existing) = self.networks.get(network_id) {
            return Err(IpamError::NetworkExists {
                id: network_id.to_owned(),
                network: existing.name.clone(),
            });
        }
        let subnets = configs
            .iter()
            .map(SubnetAllocator::new)
            .collect::<Result<_, _>>()?;
        let network = Network {
            name: name.to_owned(),
            subnets,
        };
        self.networks.insert(network_id.to_owned(), network);
        Ok(())
    }

    /// Forgets a network and all its addresses (no error if unknown).
    pub fn remove_network(&mut self, network_id: &str) {
        self.networks.remove(network_id);
    }

    /// Hands out an address of `family` on the network, with the subnet's prefix length
    /// (e.g. 172.18.0.2/16).
    ///
    /// `static_ip` asks for that exact address: it must lie in a subnet of the network, but may
    /// lie outside the ip range. Dynamic addresses come from the ip range when one is set, in
    /// order after the last one handed out, wrapping at the end, so a freed address is not
    /// reused at once. The cost is O(log n) in the addresses taken.
    pub fn allocate(
        &mut self,
        network_id: &str,
        family: Family,
        static_ip: Option<IpAddr>,
    ) -> Result<IpNetwork, IpamError> {
        let network = self.network_mut(network_id)?;
        let Some(addr) = static_ip else {
            return network.next(family);
        };
        if Family::of(addr) != family {
            return Err(IpamError::AddressFamilyMismatch { addr, family });
        }
        network.claim(addr)
    }

    /// Marks an address as taken (restoring state from the store after a restart). Fails as a
    /// static `allocate` does: taken already, reserved by the subnet (gateway, aux, …), or
    /// outside the network.
    pub fn reserve(&mut self, network_id: &str, addr: IpAddr) -> Result<(), IpamError> {
        self.network_mut(network_id)?.claim(addr).map(|_| ())
    }

    /// Returns an address to the pool. Unknown network or address: no-op. The gateway and the
    /// other addresses reserved by the subnet stay reserved.
    pub fn release(&mut self, network_id: &str, addr: IpAddr) {
        if let Some(network) = self.networks.get_mut(network_id) {
            for subnet in &mut network.subnets {
                subnet.release(addr);
            }
        }
    }

    /// True if the address is taken on that network, by an endpoint or by the subnet itself.
    #[cfg(test)]
    pub fn is_allocated(&self, network_id: &str, addr: IpAddr) -> bool {
        self.networks
            .get(network_id)
            .is_some_and(|network| network.subnets.iter().any(|s| s.is_taken(addr)))
    }

    fn network_mut(&mut self, network_id: &str) -> Result<&mut Network, IpamError> {
        self.networks
            .get_mut(network_id)
            .ok_or_else(|| IpamError::UnknownNetwork {
                id: network_id.to_owned(),
            })
    }

    /// (network name, subnet) of every registered network.
    fn existing_subnets(&self) -> impl Iterator<Item = (&str, IpNetwork)> {
        self.networks.values().flat_map(|network| {
            network
                .subnets
                .iter()
                .map(|subnet| (network.name.as_str(), subnet.subnet()))
        })
    }
}

#[cfg(test)]
mod test_support {
    use std::net::IpAddr;

    use ipnetwork::IpNetwork;

    pub(super) fn net(text: &str) -> IpNetwork {
        text.parse().expect("test CIDR")
    }

    pub(super) fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::test_support::{ip, net};
    use super::*;

    /// An Ipam with network `web` (id "w1", IPv6 enabled) planned from `requests`.
    fn web_with(requests: &[SubnetRequest]) -> Ipam {
        let mut ipam = Ipam::new(DefaultPools::docker_defaults());
        let configs = ipam.plan_network("web", requests, true, &[]).expect("plan");
        ipam.add_network("w1", "web", &configs).expect("add");
        ipam
    }

    /// `web` on `subnet`, gateway .1, optionally with an ip range.
    fn web(subnet: &str, ip_range: Option<&str>) -> Ipam {
        web_with(&[SubnetRequest {
            subnet: Some(net(subnet)),
            ip_range: ip_range.map(net),
            ..SubnetRequest::default()
        }])
    }

    /// A dynamic IPv4 address on `web`.
    fn next_v4(ipam: &mut Ipam) -> Result<IpNetwork, IpamError> {
        ipam.allocate("w1", Family::V4, None)
    }

    /// A static IPv4 address on `web`.
    fn static_v4(ipam: &mut Ipam, addr: &str) -> Result<IpNetwork, IpamError> {
        ipam.allocate("w1", Family::V4, Some(ip(addr)))
    }

    fn err<T: fmt::Debug>(result: Result<T, IpamError>) -> String {
        match result {
            Ok(value) => panic!("expected an error, got {value:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn dynamic_addresses_carry_the_subnet_prefix() {
        let mut ipam = web("172.18.0.0/16", None);
        assert_eq!(next_v4(&mut ipam), Ok(net("172.18.0.2/16")));
        assert_eq!(next_v4(&mut ipam), Ok(net("172.18.0.3/16")));
        assert!(ipam.is_allocated("w1", ip("172.18.0.2")));
        assert!(ipam.is_allocated("w1", ip("172.18.0.1")), "the gateway");
        assert!(!ipam.is_allocated("w1", ip("172.18.0.4")));
        assert!(!ipam.is_allocated("other", ip("172.18.0.2")));
    }

    #[test]
    fn ip_range_limits_dynamic_but_not_static_addresses() {
        let mut ipam = web("172.18.0.0/16", Some("172.18.5.0/30"));
        let dynamic: Vec<_> = (0..4)
            .map(|_| next_v4(&mut ipam).expect("free address"))
            .collect();
        assert_eq!(dynamic[0], net("172.18.5.0/16"));
        assert_eq!(dynamic[3], net("172.18.5.3/16"));
        assert_eq!(
            err(next_v4(&mut ipam)),
            "no free IPv4 address left in 172.18.5.0/30 of network `web`"
        );
        assert_eq!(
            static_v4(&mut ipam, "172.18.200.1"),
            Ok(net("172.18.200.1/16"))
        );
    }

    #[test]
    fn static_addresses_conflict_with_taken_and_reserved_ones() {
        let mut ipam = web_with(&[SubnetRequest {
            subnet: Some(net("172.18.0.0/16")),
            aux_addresses: BTreeMap::from([("nas".to_owned(), ip("172.18.0.2"))]),
            ..SubnetRequest::default()
        }]);
        assert_eq!(
            next_v4(&mut ipam),
            Ok(net("172.18.0.3/16")),
            "the aux address is skipped"
        );
        assert_eq!(static_v4(&mut ipam, "172.18.0.5"), Ok(net("172.18.0.5/16")));
        assert_eq!(
            err(static_v4(&mut ipam, "172.18.0.5")),
            "address 172.18.0.5 is already in use on network `web`"
        );
        assert_eq!(
            err(static_v4(&mut ipam, "172.18.0.1")),
            "address 172.18.0.1 is reserved as the gateway of network `web`"
        );
        assert_eq!(
            err(static_v4(&mut ipam, "172.18.0.2")),
            "address 172.18.0.2 is reserved as the auxiliary address `nas` of network `web`"
        );
        assert_eq!(
            err(static_v4(&mut ipam, "172.18.255.255")),
            "address 172.18.255.255 is reserved as the broadcast address of network `web`"
        );
        assert_eq!(
            err(static_v4(&mut ipam, "10.0.0.5")),
            "address 10.0.0.5 is outside every subnet of network `web` (172.18.0.0/16)"
        );
    }

    #[test]
    fn allocation_errors_name_the_network_and_family() {
        let mut ipam = web("172.18.0.0/16", None);
        assert_eq!(
            err(ipam.allocate("nope", Family::V4, None)),
            "network nope is not known to IPAM"
        );
        let v4_only = Ipam::new(DefaultPools::docker_defaults())
            .plan_network("db", &[], false, &[])
            .expect("plan");
        ipam.add_network("d1", "db", &v4_only).expect("add");
        assert_eq!(
            err(ipam.allocate("d1", Family::V6, None)),
            "network `db` has no IPv6 subnet"
        );
        assert_eq!(
            err(ipam.allocate("d1", Family::V6, Some(ip("fd00::5")))),
            "network `db` has no IPv6 subnet"
        );
        assert_eq!(
            err(ipam.reserve("d1", ip("fd00::5"))),
            "network `db` has no IPv6 subnet"
        );
        assert_eq!(
            err(static_v4(&mut ipam, "fd00::5")),
            "address fd00::5 is not an IPv4 address"
        );
    }

    #[test]
    fn dual_stack_networks_allocate_each_family_separately() {
        let mut ipam = web("172.18.0.0/16", None);
        assert_eq!(
            ipam.allocate("w1", Family::V6, None),
            Ok(net("fd42:636e:6d00::2/64"))
        );
        assert_eq!(next_v4(&mut ipam), Ok(net("172.18.0.2/16")));
    }

    #[test]
    fn a_slash_30_network_fills_up_after_one_endpoint() {
        let mut ipam = web("10.9.0.0/30", None);
        assert_eq!(next_v4(&mut ipam), Ok(net("10.9.0.2/30")));
        assert_eq!(
            err(next_v4(&mut ipam)),
            "no free IPv4 address left in 10.9.0.0/30 of network `web`"
        );
        ipam.release("w1", ip("10.9.0.2"));
        assert_eq!(next_v4(&mut ipam), Ok(net("10.9.0.2/30")));
    }

    #[test]
    fn a_full_subnet_moves_on_to_the_next_of_the_same_family() {
        let mut ipam = web_with(&["10.9.0.0/30", "10.9.1.0/30"].map(|subnet| SubnetRequest {
            subnet: Some(net(subnet)),
            ..SubnetRequest::default()
        }));
        assert_eq!(next_v4(&mut ipam), Ok(net("10.9.0.2/30")));
        assert_eq!(next_v4(&mut ipam), Ok(net("10.9.1.2/30")));
        assert_eq!(
            err(next_v4(&mut ipam)),
            "no free IPv4 address left in 10.9.0.0/30, 10.9.1.0/30 of network `web`"
        );
    }

    #[test]
    fn released_addresses_come_back_only_after_a_wrap() {
        let mut ipam = web("10.9.0.0/29", None);
        let a = next_v4(&mut ipam).expect("free").ip();
        assert_eq!(next_v4(&mut ipam), Ok(net("10.9.0.3/29")));
        ipam.release("w1", a);
        assert!(!ipam.is_allocated("w1", a));
        let handed: Vec<IpAddr> = (0..4)
            .map(|_| next_v4(&mut ipam).expect("free").ip())
            .collect();
        assert_eq!(
            handed,
            ["10.9.0.4", "10.9.0.5", "10.9.0.6", "10.9.0.2"].map(ip)
        );
    }

    #[test]
    fn reserve_restores_state_and_refuses_duplicates() {
        let mut ipam = web("172.18.0.0/16", None);
        assert_eq!(ipam.reserve("w1", ip("172.18.0.2")), Ok(()));
        assert_eq!(
            err(ipam.reserve("w1", ip("172.18.0.2"))),
            "address 172.18.0.2 is already in use on network `web`"
        );
        assert!(matches!(
            ipam.reserve("w1", ip("172.18.0.1")),
            Err(IpamError::AddressReserved { .. })
        ));
        assert!(matches!(
            ipam.reserve("gone", ip("172.18.0.9")),
            Err(IpamError::UnknownNetwork { .. })
        ));
        assert_eq!(next_v4(&mut ipam), Ok(net("172.18.0.3/16")));
        ipam.release("w1", ip("172.18.0.2"));
        ipam.release("w1", ip("172.18.0.1"));
        ipam.release("gone", ip("172.18.0.2"));
        assert!(!ipam.is_allocated("w1", ip("172.18.0.2")));
        assert!(
            ipam.is_allocated("w1", ip("172.18.0.1")),
            "gateways are not released"
        );
    }

    #[test]
    fn networks_register_once_and_can_be_forgotten() {
        let mut ipam = web("172.18.0.0/16", None);
        let configs = ipam.plan_network("db", &[], false, &[]).expect("plan");
        assert_eq!(
            err(ipam.add_network("w1", "db", &configs)),
            "network w1 is already registered with IPAM (as network `web`)"
        );
        next_v4(&mut ipam).expect("free");
        ipam.remove_network("w1");
        ipam.remove_network("w1");
        assert!(!ipam.is_allocated("w1", ip("172.18.0.2")));
        assert!(matches!(
            next_v4(&mut ipam),
            Err(IpamError::UnknownNetwork { .. })
        ));
    }

    #[test]
    fn sixty_thousand_allocations_on_a_slash_16() {
        let mut ipam = web("172.18.0.0/16", None);
        let handed: BTreeSet<IpNetwork> = (0..60_000)
            .map(|_| next_v4(&mut ipam).expect("free address"))
            .collect();
        assert_eq!(handed.len(), 60_000, "all distinct");
        assert_eq!(handed.first(), Some(&net("172.18.0.2/16")));
        // .2 + 59,999 = 234.97 in the last two octets.
        assert_eq!(handed.last(), Some(&net("172.18.234.97/16")));
        let subnet = &ipam.networks["w1"].subnets[0];
        assert_eq!(
            subnet.run_count(),
            2,
            "the network address, gateway and endpoints form one run, the broadcast another: \
             the next free address is one lookup away"
        );
        assert_eq!(next_v4(&mut ipam), Ok(net("172.18.234.98/16")));
    }

    #[test]
    fn subnet_configs_round_trip_through_json() {
        let config = SubnetConfig {
            subnet: net("172.18.0.0/16"),
            ip_range: Some(net("172.18.5.0/24")),
            gateway: Some(ip("172.18.0.1")),
            aux_addresses: BTreeMap::from([("nas".to_owned(), ip("172.18.0.2"))]),
        };
        let json = serde_json::to_string(&config).expect("serialize");
        assert_eq!(
            json,
            r#"{"subnet":"172.18.0.0/16","ip_range":"172.18.5.0/24","gateway":"172.18.0.1","aux_addresses":{"nas":"172.18.0.2"}}"#
        );
        assert_eq!(
            serde_json::from_str::<SubnetConfig>(&json).ok(),
            Some(config)
        );
        let minimal: SubnetConfig =
            serde_json::from_str(r#"{"subnet":"fd00::/64"}"#).expect("optional fields default");
        assert_eq!(minimal.family(), Family::V6);
        assert_eq!((minimal.ip_range, minimal.gateway), (None, None));
        assert!(serde_json::from_str::<SubnetConfig>(r#"{"subnet":"fd00::/129"}"#).is_err());
    }
}
